/**
 * A seedship CLI whose drives are slow in real time: every write and sync under `<prefix>` first
 * waits `<ms>` (DriveFaultFs.slowWrites), so a test in a pseudo-terminal sees a copy that lasts.
 * Usage: node slow-drive-entry.js <prefix> <ms> <seedship args…>.
 */
import { setMaxListeners } from 'node:events';
import { makeProcessContext } from '../../cli/shared/context.js';
import { runCli } from '../../cli/program.js';
import { makeNodeDeps, NodeFileSystem } from '../../native/index.js';
import { DriveFaultFs } from './drive-fault-fs.js';

const fs = new DriveFaultFs(new NodeFileSystem());
fs.slowWrites(process.argv[2]!, Number(process.argv[3]), { syncs: true });
const controller = new AbortController();
setMaxListeners(0, controller.signal);
const ctx = makeProcessContext(controller.signal, makeNodeDeps({ fs }));
process.exitCode = await runCli(process.argv.slice(4), ctx);
