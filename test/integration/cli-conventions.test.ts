import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { SEEDSHIP_VERSION } from '../../core/index.js';
import { CLI, jsonLines, runSeedship } from '../support/cli.js';
import { tempDir, writeTree } from '../support/tree.js';

const packageVersion = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Lines of a plain usage error that start with commander's `error:`. */
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('error: '));

test('--version and -V print the version of package.json and exit 0', async () => {
  assert.equal(SEEDSHIP_VERSION, packageVersion, 'core SEEDSHIP_VERSION matches package.json');
  for (const flag of ['--version', '-V']) {
    const r = await runSeedship([flag]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${packageVersion}\n`);
    assert.equal(r.stderr, '');
  }
});

test('job create without several required options names every one of them in one run, exit 2', async () => {
  const t = tempDir();
  try {
    const r = await runSeedship([
      'job',
      'create',
      '--session',
      t.dir,
      '--subscription',
      '11111111-2222-3333-4444-555555555555',
      '--location',
      'westus',
      '--return-address-file',
      `${t.dir}/a.json`,
      '--return-carrier',
      'FedEx',
      '--return-carrier-account',
      '1',
    ]);
    assert.equal(r.code, 2);
    const lines = errorLines(r.stderr);
    assert.equal(lines.length, 2, r.stderr);
    assert.match(lines[0]!, /required option '--resource-group <rg>' not specified/);
    assert.match(lines[1]!, /required option '--account <name>' not specified/);
    assert.equal(r.stdout, '');
  } finally {
    t.cleanup();
  }
});

test('prepare without --staging and --drive names both; invalid values come with the missing ones', async () => {
  let r = await runSeedship(['prepare']);
  assert.equal(r.code, 2);
  let lines = errorLines(r.stderr);
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[0]!, /required option '--staging <dir>' not specified/);
  assert.match(lines[1]!, /--drive PATH/);
  r = await runSeedship(['prepare', '--threads', '0', '--codec', 'lz4', '--level', '42', '--bogus']);
  assert.equal(r.code, 2);
  lines = errorLines(r.stderr);
  assert.equal(lines.length, 6, r.stderr);
  assert.match(
    r.stderr,
    /option '--threads <n>' argument '0' is invalid\. --threads takes a whole number from 1 to 256/,
  );
  assert.match(r.stderr, /option '--codec <codec>' argument 'lz4' is invalid\. Allowed choices are zstd, none/);
  assert.match(r.stderr, /option '--level <n>' argument '42' is invalid/);
  assert.match(r.stderr, /required option '--staging <dir>' not specified/);
  assert.match(r.stderr, /give at least one --drive PATH/);
  assert.match(r.stderr, /unknown option '--bogus'/);
});

test('bad sizes and counts exit 2 naming the option and what to give, before anything runs', async () => {
  const t = tempDir();
  try {
    writeTree(`${t.dir}/s`, { 'a.txt': 'hello world' });
    mkdirSync(`${t.dir}/d`);
    const cases: [string[], RegExp][] = [
      [
        ['plan', '--staging', `${t.dir}/s`, '--drive-size', '0'],
        /'--drive-size <size>' argument '0' is invalid\. --drive-size must be at least 2 MiB/,
      ],
      [
        ['plan', '--staging', `${t.dir}/s`, '--drive-size', '100K'],
        /--drive-size must be at least 2 MiB \(room for the manifest and one entry\)/,
      ],
      [
        ['plan', '--staging', `${t.dir}/s`, '--drive-size', '8TB', '--threads', '0'],
        /--threads takes a whole number from 1 to 256/,
      ],
      [
        ['plan', '--staging', `${t.dir}/s`, '--drive-size', '-5GB'],
        /--drive-size "-5GB" is negative; give a size larger than 0/,
      ],
      [
        [
          'prepare',
          '--staging',
          `${t.dir}/s`,
          '--drive',
          `${t.dir}/d`,
          '--allow-staging-volume',
          '--drive-limit',
          '-5GB',
        ],
        /--drive-limit "-5GB" is negative/,
      ],
      [
        ['prepare', '--staging', `${t.dir}/s`, '--drive', `${t.dir}/d`, '--allow-staging-volume', '--drive-limit', '0'],
        /--drive-limit must be at least 2 MiB/,
      ],
      [['plan', '--staging', `${t.dir}/s`, '--drive-size', 'lots'], /--drive-size "lots" is not a size/],
      [
        ['plan', '--staging', `${t.dir}/s`, '--drive', `${t.dir}/d`, '--drive-size', '8TB'],
        /'--drive-size <size>' cannot be used with option '--drive <path>'/,
      ],
      [['plan', '--staging', `${t.dir}/s`], /plan needs --drive PATH \(repeatable\) or --drive-size SIZE/],
    ];
    for (const [args, message] of cases) {
      const r = await runSeedship(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
    }
    assert.deepEqual(readdirSync(`${t.dir}/d`), [], 'prepare wrote nothing');
  } finally {
    t.cleanup();
  }
});

test('plan on a tiny tree with the smallest drive size: one drive, and every number printed for people', async () => {
  const t = tempDir();
  try {
    writeTree(`${t.dir}/s`, { 'a.txt': 'hello world' });
    const r = await runSeedship(['plan', '--staging', `${t.dir}/s`, '--drive-size', '2M', '--threads', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^drives needed: 1$/m);
    assert.match(r.stdout, /at the measured \d+(\.\d{1,2})? (B|KiB|MiB|GiB)\/s/);
    assert.doesNotMatch(r.stdout, /\d\.\d{3,}/, 'no raw float');
    const j = await runSeedship(['plan', '--staging', `${t.dir}/s`, '--drive-size', '2M', '--threads', '1', '--json']);
    assert.equal(j.code, 0, j.stderr);
    assert.equal((JSON.parse(j.stdout) as { drivesNeeded: number }).drivesNeeded, 1);
  } finally {
    t.cleanup();
  }
});

test('under --json a usage error is one JSON line on stderr: unknown option, missing value, invalid value, missing options', async () => {
  const cases: [string[], RegExp][] = [
    [['verify', '--drive', '/nonexistent', '--bogus', '--json'], /unknown option '--bogus'/],
    [['verify', '--json', '--drive'], /option '--drive <path>' argument missing/],
    [['plan', '--staging', '/nonexistent', '--drive-size', '0', '--json'], /--drive-size must be at least/],
    [
      ['import', '--json'],
      /required option '--drive <path>' not specified; required option '--connection-string <cs>' not specified/,
    ],
  ];
  for (const [args, message] of cases) {
    const r = await runSeedship(args, { env: { AZURE_STORAGE_CONNECTION_STRING: undefined } });
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stdout, '');
    const lines = r.stderr.split('\n').filter((l) => l.length > 0);
    assert.equal(lines.length, 1, `${args.join(' ')}: ${r.stderr}`);
    const e = JSON.parse(lines[0]!) as { type: string; code: string; message: string; problems?: string[] };
    assert.equal(e.type, 'error');
    assert.equal(e.code, 'E_USAGE');
    assert.match(e.message, message, args.join(' '));
    assert.doesNotMatch(e.message, /^error: /);
  }
  const two = jsonLines(
    (await runSeedship(['import', '--json'], { env: { AZURE_STORAGE_CONNECTION_STRING: undefined } })).stderr,
  )[0] as { problems: string[] };
  assert.equal(two.problems.length, 2);
  const plain = await runSeedship(['verify', '--drive', '/nonexistent', '--bogus']);
  assert.match(plain.stderr, /^error: unknown option '--bogus'\n\(run with --help for usage\)\n$/);
});

test('SEEDSHIP_SESSION stands for --session; a connection string in the environment does not turn restore away from drives', async () => {
  const t = tempDir();
  try {
    writeTree(`${t.dir}/s`, { 'a.txt': 'alpha', 'dir/b.txt': 'beta' });
    mkdirSync(`${t.dir}/d`);
    const session = `${t.dir}/session`;
    const p = await runSeedship(
      [
        'prepare',
        '--staging',
        `${t.dir}/s`,
        '--job',
        'env-job',
        '--drive',
        `${t.dir}/d`,
        '--allow-staging-volume',
        '--no-verify',
      ],
      { env: { SEEDSHIP_SESSION: session } },
    );
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, new RegExp(`session: ${session}`), 'prepare used the session dir from the environment');
    const env = { SEEDSHIP_SESSION: session, AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true' };
    const r = await runSeedship(['restore', '--drive', `${t.dir}/d`, '--to', `${t.dir}/out`], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(`${t.dir}/out/dir/b.txt`, 'utf8'), 'beta');
    const none = await runSeedship(['restore', '--drive', `${t.dir}/d`, '--to', `${t.dir}/out2`], {
      env: { SEEDSHIP_SESSION: undefined },
    });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /restore from drives needs --session DIR \(or \$SEEDSHIP_SESSION\)/);
    const help = await runSeedship(['verify', '--help']);
    assert.match(help.stdout, /--session <dir>[\s\S]*env:\s+SEEDSHIP_SESSION/);
    const imp = await runSeedship(['import', '--help']);
    assert.match(imp.stdout, /--connection-string <cs>[\s\S]*env:\s+AZURE_STORAGE_CONNECTION_STRING/);
  } finally {
    t.cleanup();
  }
});

test('help is grouped by purpose: the commands of the program, the options of prepare', async () => {
  const root = await runSeedship(['--help']);
  assert.equal(root.code, 0);
  const headings = root.stdout.split('\n').filter((l) => /^[A-Z][^:]*:$/.test(l));
  assert.deepEqual(headings.slice(0, 6), [
    'Options:',
    'Before the copy:',
    'Copy and check the drives:',
    'Ship and import:',
    'Restore:',
    'Other:',
  ]);
  const prep = await runSeedship(['prepare', '--help']);
  for (const h of [
    'Input and output:',
    'Copy:',
    'Drives:',
    'Integrity:',
    'Output:',
    'Job creation (with --create-job):',
  ])
    assert.match(prep.stdout, new RegExp(`^${h.replace(/[()]/g, '\\$&')}$`, 'm'));
  assert.match(
    prep.stdout,
    /\nCopy:\n\s+--codec <codec>\s+zstd \(default\) or none[\s\S]*?\(choices: "zstd", "none"\)/,
  );
});

/** The command names listed in a --help text. */
function commandsIn(help: string): string[] {
  const names = [...help.matchAll(/^ {2}([a-z][a-z-]*)(?: \[options\]| <\w+>| \[command\])?(?= {2,}|\n)/gm)].map(
    (m) => m[1]!,
  );
  return names.filter((n) => n !== 'help');
}

test('completion bash: bash sources it, completes every command, option and choice', async () => {
  const script = await runSeedship(['completion', 'bash']);
  assert.equal(script.code, 0, script.stderr);
  const sourced = spawnSync(
    'bash',
    ['-c', `source <("${process.execPath}" "${CLI}" completion bash) && complete -p seedship`],
    { encoding: 'utf8' },
  );
  assert.equal(sourced.status, 0, sourced.stderr);
  assert.match(sourced.stdout, /^complete -F _seedship_complete seedship$/m);
  const t = tempDir();
  try {
    writeFileSync(`${t.dir}/completion.bash`, script.stdout);
    const complete = (words: string[]) => {
      const r = spawnSync(
        'bash',
        [
          '-c',
          `source "${t.dir}/completion.bash"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _seedship_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
          'bash',
          'seedship',
          ...words,
        ],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.split('\n').filter((l) => l.length > 0);
    };
    const top = commandsIn((await runSeedship(['--help'])).stdout);
    assert.ok(top.includes('prepare') && top.includes('completion') && top.length >= 11, top.join(' '));
    assert.deepEqual(complete(['']).sort(), [...top, 'help'].sort());
    const jobs = commandsIn((await runSeedship(['job', '--help'])).stdout);
    assert.deepEqual(complete(['job', '']).sort(), [...jobs, 'help'].sort());
    assert.deepEqual(complete(['pr']), ['prepare']);
    assert.deepEqual(complete(['prepare', '--codec', '']), ['zstd', 'none']);
    assert.deepEqual(complete(['prepare', '--codec', '=', 'n']), ['none']);
    assert.deepEqual(
      complete(['prepare', '--job', 'plan', '--thr']),
      ['--threads'],
      'the value of --job is not taken for a command',
    );
    assert.deepEqual(complete(['job', 'create', '--cloud', 'AzureC']), ['AzureCloud', 'AzureChinaCloud']);
    assert.deepEqual(complete(['completion', '']), ['bash', 'zsh']);
    mkdirSync(`${t.dir}/staging-here`);
    assert.deepEqual(complete(['prepare', '--staging', `${t.dir}/staging-h`]), [`${t.dir}/staging-here`]);
    for (const o of ['--staging', '--drive-limit', '--no-verify', '--create-job', '--subscription'])
      assert.ok(complete(['prepare', '--']).includes(o), o);
  } finally {
    t.cleanup();
  }
});

test('completion zsh: zsh reads it, registers it and completes commands and choices', async (ctx) => {
  if (spawnSync('zsh', ['-c', 'true']).status !== 0) {
    ctx.skip('zsh is not installed (apt-get install zsh)');
    return;
  }
  const script = await runSeedship(['completion', 'zsh']);
  assert.equal(script.code, 0, script.stderr);
  assert.match(script.stdout, /^#compdef seedship$/m);
  const t = tempDir();
  try {
    writeFileSync(`${t.dir}/_seedship`, script.stdout);
    assert.equal(spawnSync('zsh', ['-n', `${t.dir}/_seedship`]).status, 0, 'zsh -n');
    const registered = spawnSync(
      'zsh',
      [
        '-f',
        '-c',
        `autoload -U compinit && compinit -u -D && source "${t.dir}/_seedship" && print -r -- "\${_comps[seedship]}"`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(registered.stdout.trim(), '_seedship', registered.stderr);
    // zsh's completion builtins work only inside a completion widget: here they report what they were given.
    const stubs = `compadd() { [[ "$1" == "--" ]] && shift; print -r -- "$@" }
_describe() { local -a a; a=("\${(@P)4}"); print -r -- "\${a[@]%%:*}" }
_files() { print -r -- "files $*" }
_message() { print -r -- "message" }`;
    const complete = (words: string[]) => {
      const r = spawnSync(
        'zsh',
        [
          '-f',
          '-c',
          `source "${t.dir}/_seedship"; ${stubs}; words=("$@"); CURRENT=$#; _seedship`,
          'zsh',
          'seedship',
          ...words,
        ],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim().split(/\s+/);
    };
    const top = commandsIn((await runSeedship(['--help'])).stdout);
    assert.deepEqual(complete(['']).sort(), [...top, 'help'].sort());
    assert.deepEqual(complete(['prepare', '--codec', '']), ['zstd', 'none']);
    assert.deepEqual(complete(['prepare', '--staging', '']), ['files', '-/']);
    assert.deepEqual(complete(['job', 'create', '--cloud', '']), [
      'AzureCloud',
      'AzureUSGovernment',
      'AzureChinaCloud',
    ]);
  } finally {
    t.cleanup();
  }
});
