// The bash and zsh completion scripts, generated from the commander program.
import type { Command, Option } from 'commander';

/** The shells `seedship completion` writes a script for. */
export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** What the completion of one option's value offers. */
type ValueKind = 'dir' | 'file' | 'choices' | 'none';

interface OptionSpec {
  readonly names: string[];
  readonly description: string;
  readonly value: ValueKind | undefined;
  readonly choices: readonly string[];
}

interface CommandSpec {
  /** Words from the program to this command: '' for the program, 'job create' for a subcommand. */
  readonly path: string;
  readonly subcommands: { readonly name: string; readonly description: string }[];
  readonly options: OptionSpec[];
  /** Choices of the command's first argument, if it has any (`completion bash|zsh`). */
  readonly argumentChoices: readonly string[];
}

/**
 * The completion script for `shell`, generated from the commander program: every command and
 * option, each option's choices, and directories or files for options taking a <dir>, <path> or
 * <file>. Nothing is hand-listed, so a new command or option completes without touching this file.
 */
export function completionScript(program: Command, shell: CompletionShell): string {
  const specs = describe(program, '');
  return shell === 'bash' ? bashScript(program.name(), specs) : zshScript(program.name(), specs);
}

function describe(cmd: Command, path: string): CommandSpec[] {
  const options: OptionSpec[] = cmd.options.filter((o) => !o.hidden).map(optionSpec);
  options.push({ names: ['-h', '--help'], description: 'show help', value: undefined, choices: [] });
  const subcommands = cmd.commands.map((c) => ({ name: c.name(), description: firstClause(c.description()) }));
  if (subcommands.length > 0) subcommands.push({ name: 'help', description: 'show help for a command' });
  const argumentChoices = path === '' || subcommands.length > 0 ? [] : (cmd.registeredArguments[0]?.argChoices ?? []);
  const own: CommandSpec = { path, subcommands, options, argumentChoices };
  const helpArguments = cmd.commands.map((c) => c.name());
  const help: CommandSpec = { path: join(path, 'help'), subcommands: [], options: [], argumentChoices: helpArguments };
  const helpSpec = subcommands.length > 0 ? [help] : [];
  return [own, ...helpSpec, ...cmd.commands.flatMap((c) => describe(c, join(path, c.name())))];
}

function join(path: string, name: string): string {
  return path === '' ? name : `${path} ${name}`;
}

function optionSpec(o: Option): OptionSpec {
  const names = [o.short, o.long].filter((n): n is string => n !== undefined);
  const takesValue = o.required || o.optional;
  const choices = o.argChoices ?? [];
  const valueName = /<([^>]+)>|\[([^\]]+)\]/.exec(o.flags);
  const name = valueName?.[1] ?? valueName?.[2] ?? '';
  const value: ValueKind | undefined = !takesValue
    ? undefined
    : choices.length > 0
      ? 'choices'
      : name === 'dir'
        ? 'dir'
        : name === 'path' || name === 'file'
          ? 'file'
          : 'none';
  return { names, description: firstClause(o.description), value, choices };
}

/** The start of a description, short enough for a completion menu. */
function firstClause(text: string): string {
  const clause = text.split(/[;:(]/)[0]!.trim();
  return clause.length > 70 ? `${clause.slice(0, 67)}...` : clause;
}

/** A bash word list quoted for a double-quoted string (names and choices hold no quotes). */
function words(list: readonly string[]): string {
  return list.join(' ');
}

function caseArms(specs: CommandSpec[], body: (s: CommandSpec) => string | undefined): string {
  return specs
    .map((s) => [s, body(s)] as const)
    .filter((a): a is readonly [CommandSpec, string] => a[1] !== undefined)
    .map(([s, b]) => `    '${s.path}') ${b} ;;`)
    .join('\n');
}

function valueArms(specs: CommandSpec[]): string {
  const arms: string[] = [];
  for (const s of specs) {
    for (const o of s.options) {
      if (o.value === undefined) continue;
      const answer = o.value === 'choices' ? `echo "choices ${words(o.choices)}"` : `echo ${o.value}`;
      for (const n of o.names) arms.push(`    '${s.path}|${n}') ${answer} ;;`);
    }
  }
  return arms.join('\n');
}

/** Shared shell functions (bash and zsh both run them): which command the words name, what a value option wants. */
function commonFunctions(fn: string, specs: CommandSpec[]): string {
  return `# The subcommands of a command path.
${fn}_subcommands() {
  case "$1" in
${caseArms(specs, (s) => (s.subcommands.length > 0 ? `echo "${words(s.subcommands.map((c) => c.name))}"` : undefined))}
  esac
}
# The options of a command path.
${fn}_options() {
  case "$1" in
${caseArms(specs, (s) => (s.options.length > 0 ? `echo "${words(s.options.flatMap((o) => o.names))}"` : undefined))}
  esac
}
# The choices of a command path's first argument.
${fn}_arguments() {
  case "$1" in
${caseArms(specs, (s) => (s.argumentChoices.length > 0 ? `echo "${words(s.argumentChoices)}"` : undefined))}
  esac
}
# What the value of option $2 of command path $1 is: dir, file, none or "choices a b c"; nothing for a flag.
${fn}_value() {
  case "$1|$2" in
${valueArms(specs)}
  esac
}
# The command path named by words 1..n-1 of "$@" (the word being completed is left out).
${fn}_path() {
  local cpath="" skip=0 w sub
  while [ $# -gt 1 ]; do
    w="$1"; shift
    # bash splits --opt=value into three words: the value after "=" is never a command.
    if [ "$w" = "=" ]; then skip=1; continue; fi
    if [ "$skip" = 1 ]; then skip=0; continue; fi
    case "$w" in
      -*=*) continue ;;
      -*) [ -n "$(${fn}_value "$cpath" "$w")" ] && skip=1; continue ;;
    esac
    for sub in $(${fn}_subcommands "$cpath"); do
      if [ "$sub" = "$w" ]; then cpath="\${cpath:+$cpath }$w"; break; fi
    done
  done
  echo "$cpath"
}`;
}

function bashScript(name: string, specs: CommandSpec[]): string {
  const fn = `_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
  return `# bash completion for ${name}, generated by \`${name} completion bash\`.
# Install: ${name} completion bash > ~/.local/share/bash-completion/completions/${name}
#      or: echo 'source <(${name} completion bash)' >> ~/.bashrc
${commonFunctions(fn, specs)}
${fn}_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" cpath value
  [ "$COMP_CWORD" -gt 0 ] && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cpath="$(${fn}_path "\${COMP_WORDS[@]:1:COMP_CWORD}")"
  COMPREPLY=()
  if [[ "$cur" == --*=* ]]; then
    value="$(${fn}_value "$cpath" "\${cur%%=*}")"
    prev="\${cur%%=*}"; cur="\${cur#*=}"
  elif [[ "$prev" == "=" && "$COMP_CWORD" -gt 1 ]]; then
    value="$(${fn}_value "$cpath" "\${COMP_WORDS[COMP_CWORD-2]}")"
  elif [[ "$prev" == -* ]]; then
    value="$(${fn}_value "$cpath" "$prev")"
  fi
  case "$value" in
    choices\\ *) COMPREPLY=($(compgen -W "\${value#choices }" -- "$cur")); return ;;
    dir) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")); return ;;
    file) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); return ;;
    none) return ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(${fn}_options "$cpath")" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$(${fn}_subcommands "$cpath") $(${fn}_arguments "$cpath")" -- "$cur"))
  fi
}
complete -F ${fn}_complete ${name}
`;
}

function zshQuote(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

function zshScript(name: string, specs: CommandSpec[]): string {
  const fn = `_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
  // _describe shows each name with its description; the table is keyed by command path.
  const described = (list: { name: string; description: string }[]) =>
    list.map((x) => zshQuote(`${x.name.replace(/:/g, '\\:')}:${x.description}`)).join(' ');
  const optionItems = (s: CommandSpec) =>
    s.options.flatMap((o) => o.names.map((n) => ({ name: n, description: o.description })));
  const subArms = caseArms(specs, (s) =>
    s.subcommands.length > 0 ? `items=(${described(s.subcommands)})` : undefined,
  );
  const optArms = caseArms(specs, (s) => (s.options.length > 0 ? `items=(${described(optionItems(s))})` : undefined));
  return `#compdef ${name}
# zsh completion for ${name}, generated by \`${name} completion zsh\`.
# Install: ${name} completion zsh > "\${fpath[1]}/_${name}"   (then start a new shell)
#      or: echo 'source <(${name} completion zsh)' >> ~/.zshrc   (after compinit)
${commonFunctions(fn, specs)}
${fn}() {
  local cur="\${words[CURRENT]}" prev="\${words[CURRENT-1]}" cpath value
  local -a items
  cpath="$(${fn}_path "\${(@)words[2,CURRENT]}")"
  if [[ "$cur" == --*=* ]]; then
    value="$(${fn}_value "$cpath" "\${cur%%=*}")"
    compset -P '*='
  elif [[ "$prev" == -* ]]; then
    value="$(${fn}_value "$cpath" "$prev")"
  fi
  case "$value" in
    choices\\ *) compadd -- \${=value#choices }; return ;;
    dir) _files -/; return ;;
    file) _files; return ;;
    none) _message 'a value'; return ;;
  esac
  if [[ "$cur" == -* ]]; then
    case "$cpath" in
${optArms.replace(/^ {4}/gm, '      ')}
    esac
    _describe -t options 'option' items
  else
    case "$cpath" in
${subArms.replace(/^ {4}/gm, '      ')}
    esac
    # Status 0 when something was offered: zsh then tries no other completer.
    local ret=1 args="$(${fn}_arguments "$cpath")"
    (( \${#items} )) && _describe -t commands 'command' items && ret=0
    [[ -n "$args" ]] && compadd -- \${=args} && ret=0
    return ret
  fi
}
if (( $+functions[compdef] )); then compdef ${fn} ${name}; fi
# Run at once when zsh autoloads this file from $fpath; not when it is sourced.
if [[ "\${funcstack[1]}" == "${fn}" ]]; then ${fn} "$@"; fi
`;
}
