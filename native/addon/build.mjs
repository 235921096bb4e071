// Builds the optional native addon (run by `npm run build:native` and by `prepare` during `npm ci`).
// It never fails the install: without a compiler, headers or node-gyp, it prints one warning line
// and exits 0, and native/os-extras.ts and native/md5-many.ts fall back to pure Node.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const addon = join(here, 'build', 'Release', 'seedship_native.node');
const log = join(here, 'build', 'build-native.log');
const shown = (p) => relative(process.cwd(), p) || p;
// Generous: a cold build takes seconds, but a header download may hang on a closed network.
const BUILD_TIMEOUT_MS = 5 * 60_000;

function giveUp(why) {
  console.warn(
    `seedship: warning: native addon not built (${why}); using the pure-Node fallback (syncfs via \`sync -f\`, no fallocate/fadvise/O_DIRECT, MD5 one buffer at a time)`,
  );
  process.exit(0);
}

// npm passes its own bundled node-gyp to lifecycle scripts (npm_config_node_gyp), as it does for a
// dependency's install script; outside npm, look beside this node's npm, then in node_modules.
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(
      dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
  ];
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed locally
  }
  return candidates.find((c) => c && existsSync(c));
}

if (process.platform !== 'linux') giveUp(`${process.platform} is not Linux`);
if (process.env.SEEDSHIP_NO_ADDON === '1') giveUp('SEEDSHIP_NO_ADDON=1');
const nodeGyp = findNodeGyp();
if (!nodeGyp) giveUp('node-gyp not found');

const args = [nodeGyp, 'rebuild'];
// Headers of this very node, when its install has them (distro and official tarballs do), so
// node-gyp need not download them; npm's own `nodedir` setting wins when set.
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h')))
  args.push(`--nodedir=${prefix}`);

const run = spawnSync(process.execPath, args, {
  cwd: here,
  encoding: 'utf8',
  timeout: BUILD_TIMEOUT_MS,
  stdio: ['ignore', 'pipe', 'pipe'],
});
const output = `$ ${process.execPath} ${args.join(' ')}\n${run.stdout ?? ''}${run.stderr ?? ''}${run.error ? `\n${run.error.message}\n` : ''}`;
mkdirSync(dirname(log), { recursive: true });
writeFileSync(log, output);
if (run.status !== 0) {
  const lastError = output
    .split('\n')
    .filter((l) => /error|ERR!/i.test(l) && !/gyp ERR! (cwd|node -v|node-gyp -v|command|System|not ok)/.test(l))
    .shift();
  giveUp(
    `node-gyp ${run.error ? run.error.message : `exited ${run.status ?? run.signal}`}${lastError ? `: ${lastError.trim()}` : ''}; log in ${shown(log)}`,
  );
}

// A module that builds but cannot load (wrong ABI, missing symbol) is as good as none.
const load = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(addon)})`], { encoding: 'utf8' });
if (load.status !== 0)
  giveUp(`built but does not load: ${(load.stderr.split('\n').find((l) => /Error/.test(l)) ?? '').trim()}`);
console.log(`seedship: native addon built: ${shown(addon)}`);
