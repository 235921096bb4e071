/** Reads the session's list files (skipped, names, problems) for the report. */
import type { FileSystem } from '../../native/interfaces.js';

/** Rows shown on the page at most per list; the file in the session holds them all. */
export const REPORT_LIST_ROWS = 1000;

/** A list file of the session, read up to REPORT_LIST_ROWS rows. */
export interface Listed<T> {
  /** The file, when it exists. */
  readonly file: string | undefined;
  readonly rows: T[];
  /** Rows in the file (more than `rows.length` when it was cut). */
  readonly count: number;
}

/** `skipped.txt`: staged path, tab, reason. */
export interface SkipRow {
  readonly path: string;
  readonly reason: string;
}

/** `names.txt`: what was done (mapped, escaped or both), staged path, drive path, blob name. */
export interface NameRow {
  readonly what: string;
  readonly path: string;
  readonly drivePath: string;
  readonly blobName: string;
}

/** `problems.txt`: severity, rule, staged path, message. */
export interface ProblemRow {
  readonly severity: string;
  readonly rule: string;
  readonly path: string;
  readonly message: string;
}

type Kind = 'skipped' | 'names' | 'problems';
type RowOf<K extends Kind> = K extends 'skipped' ? SkipRow : K extends 'names' ? NameRow : ProblemRow;

/**
 * Read one of the lists prepare writes into the session (formats in core/pipeline/run.ts). A
 * missing file is an empty list; an unreadable one is a note. Lines it cannot split are shown
 * whole rather than dropped: the list is what the operator hands over.
 */
export async function readListed<K extends Kind>(
  fs: FileSystem,
  file: string,
  kind: K,
  notes: string[],
): Promise<Listed<RowOf<K>>> {
  let b: Buffer | undefined;
  try {
    b = await fs.readFileIfExists(file);
  } catch (err) {
    notes.push(`${file} cannot be read (${(err as Error).message})`);
    return { file, rows: [], count: 0 };
  }
  if (!b) return { file: undefined, rows: [], count: 0 };
  const lines = b
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));
  const rows = lines.slice(0, REPORT_LIST_ROWS).map((l) => parseRow(kind, l) as RowOf<K>);
  return { file, rows, count: lines.length };
}

function parseRow(kind: Kind, line: string): SkipRow | NameRow | ProblemRow {
  const f = line.split('\t');
  if (kind === 'skipped') {
    // A path may hold a tab; the reason is seedship's own text and holds none.
    const cut = line.lastIndexOf('\t');
    return cut < 0 ? { path: line, reason: '' } : { path: line.slice(0, cut), reason: line.slice(cut + 1) };
  }
  if (kind === 'names') {
    return { what: f[0] ?? '', path: unjson(f[1]), drivePath: unjson(f[2]), blobName: unjson(f[3]) };
  }
  // The message is last and may hold tabs; the path before it may too: take rule and severity first.
  const path = f.slice(2, -1).join('\t') || (f[2] ?? '');
  return { severity: f[0] ?? '', rule: f[1] ?? '', path, message: f.length > 3 ? f[f.length - 1]! : '' };
}

/** names.txt holds paths as JSON strings, so any byte survives the line format. */
function unjson(field: string | undefined): string {
  if (field === undefined) return '';
  try {
    const v: unknown = JSON.parse(field);
    return typeof v === 'string' ? v : field;
  } catch {
    return field;
  }
}
