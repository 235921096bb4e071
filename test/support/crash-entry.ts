/**
 * A seedship CLI whose file system kills the process (SIGKILL) just before its N-th durability
 * operation (write, datasync, sync, rename, fsyncDir, atomic write): a crash at an exact point.
 * Usage: node crash-entry.js <N> <seedship args…>. With N = 0 it only prints the count at exit,
 * and with SEEDSHIP_CRASH_TRACE=<file> also writes each point there, one `<op>\t<path>` a line.
 */
import { setMaxListeners } from 'node:events';
import { writeFileSync } from 'node:fs';
import { makeProcessContext } from '../../cli/shared/context.js';
import { runCli } from '../../cli/program.js';
import { makeNodeDeps, NodeFileSystem } from '../../native/index.js';
import { FaultFs } from './fault-fs.js';

const killAt = Number(process.argv[2]);
const trace: string[] = [];
const fs = new FaultFs(new NodeFileSystem(), (op, n, path) => {
  if (killAt > 0 && n >= killAt) process.kill(process.pid, 'SIGKILL');
  if (killAt === 0) trace.push(`${op}\t${path}`);
});
const controller = new AbortController();
setMaxListeners(0, controller.signal);
const ctx = makeProcessContext(controller.signal, makeNodeDeps({ fs }));
const code = await runCli(process.argv.slice(3), ctx);
process.stderr.write(`crash-entry: ${fs.count} fault points\n`);
const traceFile = process.env.SEEDSHIP_CRASH_TRACE;
if (traceFile) writeFileSync(traceFile, trace.map((l) => `${l}\n`).join(''));
process.exitCode = code;
