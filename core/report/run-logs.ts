/** Reads a session's run logs for the report: runs, warnings and throughput samples. */
import type { FileSystem } from '../../native/interfaces.js';

/** pino's numeric levels: 40 warn, 50 error, 60 fatal. */
const PINO_WARN = 40;
const PINO_ERROR = 50;

/** One run of a command, as its log file tells it. */
export interface ReportRun {
  /** The log file's name inside `<session>/logs/`. */
  readonly file: string;
  readonly command: string;
  /** Command line as logged (keys already masked by the run log). */
  readonly argv: readonly string[];
  readonly version: string | undefined;
  /** ms since the epoch; undefined when the file has no start record. */
  readonly startedAt: number | undefined;
  /** ms since the epoch of the end record, or of the last record when the run did not end. */
  readonly endedAt: number | undefined;
  /** undefined: no end record (still running, killed, or the machine went down). */
  readonly exitCode: number | undefined;
  readonly warnings: number;
  readonly errors: number;
  /** Lines that were not JSON records (a torn last line of a killed run, damage). */
  readonly badLines: number;
}

export interface ReportWarning {
  readonly time: number | undefined;
  readonly level: 'warning' | 'error';
  readonly command: string;
  readonly message: string;
}

/** One progress sample of one drive track. */
export interface DriveSample {
  /** ms since the epoch (pino's `time`, or the run's start plus `elapsedMs`). */
  readonly time: number;
  /** The board's own clock, to compute rates from (monotonic within one board). */
  readonly elapsedMs: number;
  readonly done: number;
  /** Index of the board the sample comes from; rates are computed only within one. */
  readonly board: number;
  readonly step: string;
  readonly state: string | undefined;
}

export interface RunLogData {
  readonly runs: ReportRun[];
  readonly warnings: ReportWarning[];
  /** Byte tracks by their key (a drive id), samples in log order. */
  readonly samples: Map<string, DriveSample[]>;
  /** Labels of the tracks, by key. */
  readonly labels: Map<string, string>;
  /** What could not be read, for the page to say. */
  readonly notes: string[];
}

type Rec = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const obj = (v: unknown): Rec | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Rec) : undefined;

/**
 * Read every `*.jsonl` run log in `logsDir`, tolerantly: a line that is not a JSON object is
 * counted and skipped, a file that cannot be read is a note, a missing dir gives no runs. Files
 * are taken in name order, which is start-time order for the names the run log gives them.
 */
export async function readRunLogs(fs: FileSystem, logsDir: string): Promise<RunLogData> {
  const out: RunLogData = { runs: [], warnings: [], samples: new Map(), labels: new Map(), notes: [] };
  if (!(await fs.exists(logsDir))) {
    out.notes.push(`no run logs in ${logsDir}: throughput, warnings and runs are not known`);
    return out;
  }
  let names: string[];
  try {
    const entries = await fs.readdir(logsDir);
    names = entries.filter((e) => e.kind === 'file' && e.name.endsWith('.jsonl')).map((e) => e.name);
  } catch (err) {
    out.notes.push(`the run logs in ${logsDir} cannot be listed (${(err as Error).message})`);
    return out;
  }
  names.sort();
  let board = 0;
  for (const name of names) {
    let text: string;
    try {
      text = (await fs.readFile(`${logsDir}/${name}`)).toString('utf8');
    } catch (err) {
      out.notes.push(`run log ${name} cannot be read (${(err as Error).message})`);
      continue;
    }
    board = readOneLog(name, text, out, board);
  }
  return out;
}

/** Fold one log file into `out`; returns the next free board index. */
function readOneLog(name: string, text: string, out: RunLogData, firstBoard: number): number {
  let command = /-([a-z][a-z-]*)\.jsonl$/.exec(name)?.[1] ?? 'unknown';
  let argv: string[] = [];
  let version: string | undefined;
  let startedAt: number | undefined;
  let endedAt: number | undefined;
  let lastTime: number | undefined;
  let exitCode: number | undefined;
  let warnings = 0;
  let errors = 0;
  let badLines = 0;
  let board = firstBoard;
  // A board's elapsed time only grows; a step that starts again (or another step) starts a new one.
  let lastElapsed = -1;
  let lastStep: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const r = parseLine(line);
    if (!r) {
      badLines++;
      continue;
    }
    const time = timeOf(r);
    if (time !== undefined) lastTime = time;
    const msg = str(r.msg) ?? '';
    const level = num(r.level) ?? 30;
    if (msg === 'start' && startedAt === undefined) {
      startedAt = time;
      if (Array.isArray(r.argv)) argv = r.argv.filter((a): a is string => typeof a === 'string');
      // The command: as the start record names it, else argv's first word, else the file name's.
      command = str(r.command) ?? (argv[0] !== undefined && /^[a-z][a-z-]*$/.test(argv[0]) ? argv[0] : command);
      version = str(r.version);
    } else if (msg === 'end') {
      exitCode = num(r.exitCode) ?? exitCode;
      endedAt = time ?? lastTime;
    } else if (msg === 'progress') {
      const p = obj(r.progress);
      const elapsed = num(p?.elapsedMs);
      if (!p || elapsed === undefined) continue;
      const step = str(p.step) ?? '';
      if (elapsed < lastElapsed || step !== lastStep) board++;
      lastElapsed = elapsed;
      lastStep = step;
      const at = time ?? (startedAt !== undefined ? startedAt + elapsed : undefined);
      if (at === undefined) continue;
      addTracks(out, p.tracks, { time: at, elapsedMs: elapsed, board, step });
    } else if (level >= PINO_WARN) {
      if (level >= PINO_ERROR) errors++;
      else warnings++;
      const kind = level >= PINO_ERROR ? 'error' : 'warning';
      out.warnings.push({ time, level: kind, command, message: messageOf(r, msg) });
    }
  }
  if (badLines > 0) {
    const why = 'a run killed mid-line, or damage';
    out.notes.push(`run log ${name}: ${badLines} line(s) are not JSON records and were left out (${why})`);
  }
  const ended = endedAt ?? lastTime;
  out.runs.push({
    file: name,
    command,
    argv,
    version,
    startedAt,
    endedAt: ended,
    exitCode,
    warnings,
    errors,
    badLines,
  });
  return board + 1;
}

function parseLine(line: string): Rec | undefined {
  try {
    return obj(JSON.parse(line));
  } catch {
    return undefined;
  }
}

/** pino writes ms since the epoch; an ISO time (pino's isoTime) is taken too. */
function timeOf(r: Rec): number | undefined {
  return num(r.time) ?? (typeof r.time === 'string' ? num(Date.parse(r.time)) : undefined);
}

function addTracks(out: RunLogData, tracks: unknown, at: Omit<DriveSample, 'done' | 'state'>): void {
  if (!Array.isArray(tracks)) return;
  for (const t of tracks) {
    const tr = obj(t);
    const key = str(tr?.key);
    const done = num(tr?.done);
    if (!tr || key === undefined || key === 'total' || done === undefined) continue;
    if ((str(tr.unit) ?? 'bytes') !== 'bytes') continue;
    let list = out.samples.get(key);
    if (!list) {
      list = [];
      out.samples.set(key, list);
    }
    list.push({ ...at, done, state: str(tr.state) });
    const label = str(tr.label);
    if (label !== undefined) out.labels.set(key, label);
  }
}

/** A warning's text: its message, with an error's own message when pino logged one. */
function messageOf(r: Rec, msg: string): string {
  const err = obj(r.err) ?? obj(r.error);
  const detail = str(err?.message) ?? str(r.error) ?? str(r.message);
  if (detail !== undefined && detail !== msg) return msg ? `${msg}: ${detail}` : detail;
  return msg;
}
