#!/usr/bin/env node
/**
 * House rules Biome and dependency-cruiser do not check (run by `npm run lint`):
 * - no line over 120 characters in TypeScript outside test/ (Biome wraps code, not strings or comments);
 * - every source folder says what it holds: a README.md whose first line is `# <folder>: <its one concern>`,
 *   and CONTRIBUTING.md's map of the folders names it.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const MAX = 120;
const SOURCE_ROOTS = ['core', 'cli', 'native', 'bench', 'fixtures', 'test'];
const SKIP = new Set(['node_modules', 'dist', 'build']);

/** Folders under `dir` (itself included) that hold a .ts file, and every .ts file. */
function walk(dir, out) {
  const entries = readdirSync(dir, { withFileTypes: true });
  const ts = entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => join(dir, e.name));
  if (ts.length > 0) out.folders.push(dir);
  out.files.push(...ts);
  for (const e of entries) if (e.isDirectory() && !SKIP.has(e.name)) walk(join(dir, e.name), out);
  return out;
}

const problems = [];
const { folders, files } = SOURCE_ROOTS.reduce((acc, r) => walk(join(ROOT, r), acc), { folders: [], files: [] });

for (const f of files) {
  const rel = relative(ROOT, f);
  if (rel.startsWith('test/')) continue;
  readFileSync(f, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if ([...line].length > MAX) problems.push(`${rel}:${i + 1}: line of ${[...line].length} characters (max ${MAX})`);
    });
}

const map = readFileSync(join(ROOT, 'CONTRIBUTING.md'), 'utf8');
for (const dir of folders) {
  const rel = relative(ROOT, dir);
  const readme = join(dir, 'README.md');
  if (!existsSync(readme)) {
    problems.push(`${rel}/: no README.md; its first line says what the folder holds: "# ${rel}: …"`);
    continue;
  }
  const first = readFileSync(readme, 'utf8').split('\n', 1)[0] ?? '';
  if (!first.startsWith(`# ${rel}: `) || first.length < `# ${rel}: `.length + 10) {
    problems.push(`${rel}/README.md: first line must be "# ${rel}: <its one concern>", found "${first}"`);
  }
  if (!map.includes(`\`${rel}/\``)) problems.push(`CONTRIBUTING.md: the map of the folders does not name \`${rel}/\``);
}

if (problems.length > 0) {
  process.stderr.write(`${problems.join('\n')}\n\ncheck-tree: ${problems.length} problem(s)\n`);
  process.exit(1);
}
process.stdout.write(`check-tree: ${files.length} files, ${folders.length} folders: ok\n`);
