/**
 * Where the copy's files come from: the files a crash left unfinished (resumed where their
 * journal ends, unless they changed), then the staging walk after the safe frontier, then the
 * catch-up; each staged entry becomes a file of this run, cut into the chunks a pump copies.
 */
import type { FileStat } from '../../native/interfaces.js';
import { errnoCode } from '../errors/errors.js';
import type { ActiveFile } from '../journal/journal-state.js';
import { metaToJson, posixMetaOf } from '../manifest/blob-metadata.js';
import { chunkCount } from '../manifest/chunking.js';
import { walkStaging, type StagedFile } from '../staging/scan.js';
import { SESSION_ROOT_NAME } from '../session/session-layout.js';
import { blobTweakSeed } from '../chunks/chunk-task.js';
import type { FileFeed } from './placement.js';
import type { ChunkJob, CopyRun, Lane, LiveFile } from './copy-run.js';
import { entrySize, type FileOutcomes } from './file-outcomes.js';

export class FileSource {
  readonly #run: CopyRun;
  readonly #outcomes: FileOutcomes;

  constructor(run: CopyRun, outcomes: FileOutcomes) {
    this.#run = run;
    this.#outcomes = outcomes;
  }

  /** What the copy leaves out of staging: the session dir. */
  readonly exclude = (rel: string): boolean =>
    rel === SESSION_ROOT_NAME || `${this.#run.s.staging}/${rel}` === this.#run.s.dir;

  /**
   * The files a crash left unfinished go to `feed` first, each from where its journal ends (or
   * from its start when it changed).
   */
  async resumeUnfinished(feed: FileFeed<LiveFile>): Promise<void> {
    const run = this.#run;
    for (const a of [...run.s.state.active.values()].sort((x, y) => x.file - y.file)) {
      const r = await this.#resumeFile(a);
      // Its open part goes on on the drive it is on; a part on a sealed drive is followed by a new one anywhere.
      const last = a.segments[a.segments.length - 1];
      const on = last && run.drives.open.has(last.drive) && r?.from !== 0 ? last.drive : undefined;
      if (r) feed.giveBack({ f: r.f, from: r.from, on });
    }
  }

  /**
   * The staged entries not visited yet, in walk order (after the safe frontier, leaving out those
   * started beyond it).
   */
  async *walkFiles(): AsyncGenerator<LiveFile> {
    const run = this.#run;
    const st = run.s.state;
    const sessionDir = run.s.dir;
    const walk = walkStaging(run.deps.fs, run.s.staging, {
      exclude: (rel) => rel === SESSION_ROOT_NAME || `${run.s.staging}/${rel}` === sessionDir,
      onSkip: () => undefined, // listed by the pre-scan
      entries: true,
      suffix: run.o.naming.suffix,
      ...(st.frontier !== undefined ? { after: st.frontier } : {}),
    });
    for await (const sf of walk) if (!st.beyond.has(sf.path)) yield this.liveFileOf(sf);
    // Then what earlier runs left off the drives before the frontier (catch-up.ts).
    if (run.o.catchUp) for await (const sf of run.o.catchUp) yield this.liveFileOf(sf);
  }

  /** Staged entries (the catch-up's) as files of this run. */
  async *liveFilesOf(entries: AsyncIterable<StagedFile>): AsyncGenerator<LiveFile> {
    for await (const sf of entries) yield this.liveFileOf(sf);
  }

  /** A walked entry becomes a file of this run, with the next id. */
  liveFileOf(sf: StagedFile): LiveFile {
    const f: LiveFile = {
      id: this.#run.s.state.nextFile++,
      gen: 0,
      path: sf.path,
      abs: sf.abs,
      kind: sf.kind,
      dpath: sf.dpath,
      meta: metaToJson(posixMetaOf(sf.stat)),
      size: sf.size,
      mtimeMs: sf.mtimeMs,
      ino: sf.ino,
      mode: sf.mode,
      attempts: 0,
      tweakSeed: this.#tweakSeed(sf.path),
      owner: undefined,
    };
    this.#run.live.set(f.id, f);
    return f;
  }

  /** The chunks of `f` from block `from`, while `lane` owns it and it is not restarted. */
  *chunksOf(f: LiveFile, from: number, lane: Lane): Generator<ChunkJob> {
    const cb = this.#run.s.settings.chunkBytes;
    const n = chunkCount(f.size, cb);
    const gen = f.gen;
    for (let i = from; i < n; i++) {
      if (f.gen !== gen || f.owner !== lane || this.#run.live.get(f.id) !== f || lane.stopped) return;
      const rawOffset = i * cb;
      yield {
        f,
        gen,
        index: i,
        rawOffset,
        rawLength: Math.min(cb, f.size - rawOffset),
        last: i === n - 1,
        keySeq: undefined,
      };
    }
  }

  #tweakSeed(path: string): Uint8Array | undefined {
    const s = this.#run.s.settings;
    if (!s.encrypt) return undefined;
    return blobTweakSeed(s.jobId, path);
  }

  /** A file a crash left unfinished: continue it where its journal ends, unless it changed. */
  async #resumeFile(a: ActiveFile): Promise<{ f: LiveFile; from: number } | undefined> {
    const run = this.#run;
    const abs = `${run.s.staging}/${a.path}`;
    const f: LiveFile = {
      id: a.file,
      gen: a.gen,
      path: a.path,
      abs,
      kind: a.kind,
      dpath: a.dpath,
      meta: a.meta,
      size: a.size,
      mtimeMs: a.mtimeMs,
      ino: a.ino,
      mode: a.mode,
      attempts: 0,
      tweakSeed: this.#tweakSeed(a.path),
      owner: undefined,
    };
    run.live.set(f.id, f);
    let st: FileStat;
    try {
      st = await run.deps.fs.lstat(abs);
    } catch (err) {
      await this.#outcomes.skip(f, `vanished before the copy resumed (${errnoCode(err) ?? 'error'})`);
      return undefined;
    }
    if (entrySize(st) === a.size && st.mtimeMs === a.mtimeMs && st.ino === a.ino && st.kind === a.kind)
      return { f, from: a.nextIndex };
    const ok = await this.#outcomes.restart(f, 'changed between runs');
    return ok ? { f, from: 0 } : undefined;
  }
}
