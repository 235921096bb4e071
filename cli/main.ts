#!/usr/bin/env node
// The seedship process: builds the real context, turns signals and a closed output into a clean stop, runs the CLI.
import { setMaxListeners } from 'node:events';
import { SeedshipError } from '../core/index.js';
import { makeProcessContext } from './shared/context.js';
import { runCli } from './program.js';

const controller = new AbortController();
// Every pool task listens on this one signal; thousands may wait at once.
setMaxListeners(0, controller.signal);
const ctx = makeProcessContext(controller.signal);
// The run log's end record for a process that leaves without runCli returning (a second Ctrl-C);
// does nothing when runCli has ended the log already.
process.on('exit', (exitCode) => void ctx.log.end(exitCode));
let interrupts = 0;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    interrupts += 1;
    ctx.log.warn(`received ${sig}`);
    // First signal: stop cleanly (the journal is committed on the way out). Second: leave now;
    // the journal's torn tail is cut off on the next run.
    if (interrupts > 1) process.exit(130);
    // A plain Error on purpose: the error it ends a step with is not a SeedshipError, so runCli reports
    // it as E_INTERRUPTED ("interrupted; run the same command again") with this reason as its cause.
    controller.abort(new Error(`received ${sig}`));
  });
}

// A reader that went away (`seedship … | head`) is not a crash: a running command stops cleanly,
// as on Ctrl-C (the journal is committed on the way out), and nothing more is printed there.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') {
      const name = stream === process.stdout ? 'stdout' : 'stderr';
      throw new SeedshipError('E_INTERNAL', `cannot write to ${name}: ${err.message}`, { cause: err });
    }
    if (!controller.signal.aborted) controller.abort(new Error('output closed (EPIPE)'));
  });
}

const code = await runCli(process.argv.slice(2), ctx);
process.exitCode = code;
