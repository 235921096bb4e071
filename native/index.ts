/**
 * The real native layer: what `cli/` passes into `core/`. Tests build their own NativeDeps,
 * usually this one with the file system wrapped in faults.
 */
import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { NativeDeps } from './interfaces.js';
import { NodeFileSystem } from './node-fs.js';
import { LinuxProcessInfo, systemClock } from './process-info.js';
import { LinuxDriveProbe } from './drive-probe.js';
import { PiscinaChunkProcessor } from './chunk-pool.js';
import { createCodecKit } from './codec-kit.js';

export type * from './interfaces.js';
export { NodeFileSystem } from './node-fs.js';

/** The real dependencies, optionally with some replaced (tests, crash entry). */
export function makeNodeDeps(overrides: Partial<NativeDeps> = {}): NativeDeps {
  return {
    fs: new NodeFileSystem(),
    clock: systemClock,
    proc: new LinuxProcessInfo(),
    drives: new LinuxDriveProbe(),
    createChunkProcessor: (threads: number) => new PiscinaChunkProcessor(threads),
    createCodecKit,
    cores: availableParallelism(),
    randomBytes: (n: number) => new Uint8Array(randomBytes(n)),
    ...overrides,
  };
}
