/**
 * A seedship CLI whose file system plays another writer on one drive, one that takes every inode
 * the moment it is free once the drive has run out of them: after an ENOSPC from any call under
 * <root>, each unlink or rename under it is followed (before the call returns) by creating empty
 * files in <root>/thief until ENOSPC. Nothing freed on that drive is left for a later create, with
 * no timing involved. The worker threads write with their own fs calls and are not watched.
 * Usage: node inode-thief-entry.js <root> <seedship args…>; prints what it took at exit.
 */
import { setMaxListeners } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { makeProcessContext } from '../../cli/shared/context.js';
import { runCli } from '../../cli/program.js';
import type { FileSystem } from '../../native/interfaces.js';
import { makeNodeDeps, NodeFileSystem } from '../../native/index.js';

const root = process.argv[2]!;
let armed = false;
let taken = 0;
let tries = 0;

const under = (args: unknown[]) => args.some((a) => typeof a === 'string' && a.startsWith(`${root}/`));
const isNoSpace = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code === 'ENOSPC';

function takeEveryFreeInode(): void {
  for (;;) {
    try {
      closeSync(openSync(`${root}/thief/${tries++}`, 'wx'));
      taken++;
    } catch (err) {
      if (isNoSpace(err)) return;
      throw err;
    }
  }
}

/** The calls that can meet or free an inode on the drive. */
const WATCHED = new Set<PropertyKey>(['open', 'mkdir', 'writeNewFile', 'writeFileAtomic', 'rename', 'unlink']);

const inner = new NodeFileSystem();
const fs = new Proxy(inner, {
  get(target, prop) {
    const v: unknown = Reflect.get(target, prop, target);
    if (typeof v !== 'function') return v;
    const fn = v as (...a: unknown[]) => Promise<unknown>;
    if (!WATCHED.has(prop)) return fn.bind(target);
    return async (...args: unknown[]) => {
      let r: unknown;
      try {
        r = await fn.apply(target, args);
      } catch (err) {
        if (isNoSpace(err) && under(args)) {
          armed = true;
          takeEveryFreeInode();
        }
        throw err;
      }
      if (armed && (prop === 'unlink' || prop === 'rename') && under(args)) takeEveryFreeInode();
      return r;
    };
  },
}) as FileSystem;

const controller = new AbortController();
setMaxListeners(0, controller.signal);
const ctx = makeProcessContext(controller.signal, makeNodeDeps({ fs }));
const code = await runCli(process.argv.slice(3), ctx);
process.stderr.write(`inode-thief: armed ${armed}, took ${taken} inodes\n`);
process.exitCode = code;
