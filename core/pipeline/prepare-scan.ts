/**
 * Prepare's checks before the first byte is written: the pre-scan of staging (totals, names
 * mapped or escaped, files this session cannot store) with the catch-up's judge in the same walk,
 * and what it tells: warnings, the refusal of unstorable files, the list of renamed entries.
 */
import type { NativeDeps } from '../../native/interfaces.js';
import { SeedshipError } from '../errors/errors.js';
import { SESSION_ROOT_NAME, sessionFiles } from '../session/session-layout.js';
import type { StagedFile } from '../staging/scan.js';
import type { ProgressBoard } from '../util/progress.js';
import { blobSuffix } from '../manifest/naming.js';
import { CatchUp, type CatchUpFindings } from './catch-up.js';
import type { OpenSession } from './open-session.js';
import type { PrepareIO } from './prepare-types.js';
import { prescan, type PathProblem, type PrescanResult } from './prescan.js';

/** Problems and paths named in a message at most; the rest are in a file or counted. */
export const SHOWN_PROBLEMS = 10;

/** What scanning staging needs. */
export interface ScanRequest {
  readonly deps: NativeDeps;
  readonly session: OpenSession;
  readonly io: PrepareIO;
  readonly board: ProgressBoard;
  readonly signal: AbortSignal;
}

/** What the scan found. */
export interface StagingScan {
  readonly scan: PrescanResult;
  /** What earlier runs left off the drives, when a run visited staging before. */
  readonly catchUp: CatchUp | undefined;
  readonly found: CatchUpFindings | undefined;
  /** The list of renamed entries in the session dir, if any. */
  readonly namesFile: string | undefined;
  /** What the copy leaves out of staging. */
  readonly exclude: (rel: string) => boolean;
  readonly suffix: string;
}

/**
 * Scan staging (judging what earlier runs left off the drives in the same walk), show the totals,
 * refuse files that cannot be stored, list renamed entries and tell the catch-up's findings.
 */
export async function scanStaging(r: ScanRequest): Promise<StagingScan> {
  const { deps, session, io, board } = r;
  const all = board.total;
  board.setPhase('scan', 'scanning staging');
  const s = session.settings;
  const suffix = blobSuffix(s.codec);
  const exclude = (rel: string) => rel === SESSION_ROOT_NAME || `${session.staging}/${rel}` === session.dir;
  // What earlier runs left off the drives in the part of staging they visited, judged in the
  // pre-scan's walk (read before this run appends to the journal).
  const catchUp = await CatchUp.read(deps.fs, session.journalPath, session.staging, session.state.frontier);
  const judge = catchUp?.judge();
  // While scanning, the total track counts what was found; then what is copied of it.
  let seen = 0;
  const onEntry = async (f: StagedFile) => {
    all.add(f.size);
    all.setItems(++seen);
    if (judge) await judge.see(f);
  };
  let scan: PrescanResult;
  try {
    const pages = s.blobType === 'page';
    const opts = { chunkBytes: s.chunkBytes, pages, suffix, exclude, onEntry, signal: r.signal };
    scan = await prescan(deps.fs, session.staging, opts);
  } finally {
    await judge?.close();
  }
  all.set(session.state.rawDone);
  all.setTotal(scan.bytes);
  all.setItems(session.state.filesDone, scan.files);
  const found = judge?.findings;
  const errors = scan.problems.filter((p) => p.severity === 'error');
  for (const w of scan.problems.filter((p) => p.severity === 'warning').slice(0, SHOWN_PROBLEMS))
    io.notice('warning', `${w.path}: ${w.message}`);
  if (errors.length > 0) await refuseFiles(deps, session, scan.problems, scan.problemCount);
  const namesFile = await writeRenamed(deps, session, scan);
  if (found) noticeFindings(io, found);
  return { scan, catchUp, found, namesFile, exclude, suffix };
}

/** Warn of entries changed since their copy, and say which earlier skips and additions will be copied now. */
function noticeFindings(io: PrepareIO, found: CatchUpFindings): void {
  const list = (paths: readonly string[], count: number) =>
    `${paths
      .slice(0, SHOWN_PROBLEMS)
      .map((p) => JSON.stringify(p))
      .join(', ')}${count > SHOWN_PROBLEMS ? ` and ${count - SHOWN_PROBLEMS} more` : ''}`;
  if (found.missing > 0) {
    io.notice(
      'info',
      `${found.missing} staged entries in the part of staging earlier runs visited are on no drive ` +
        `(skipped then, or added since); copying them now: ${list(found.missingPaths, found.missing)}`,
    );
  }
  if (found.changed > 0) {
    io.notice(
      'warning',
      `${found.changed} staged entries changed after they were copied (size, time, inode or kind differ); ` +
        'the drives keep the version copied then, which this session does not replace — ' +
        `upload the new one with seedship sync after the import: ${list(found.changedPaths, found.changed)}`,
    );
  }
}

/**
 * List the entries whose drive name was mapped or whose blob name was escaped, one per line:
 * `mapped|escaped|mapped,escaped <TAB> staged path <TAB> drive path <TAB> blob name` (paths as
 * JSON strings, so any byte is shown). Undefined when there are none.
 */
async function writeRenamed(deps: NativeDeps, session: OpenSession, scan: PrescanResult): Promise<string | undefined> {
  const path = sessionFiles.names(session.dir);
  if (scan.renamed.length === 0) {
    await deps.fs.unlink(path);
    return undefined;
  }
  const lines = scan.renamed.map((r) => {
    const what = [r.drivePath !== undefined ? 'mapped' : '', r.blobName !== undefined ? 'escaped' : '']
      .filter(Boolean)
      .join(',');
    const paths = [r.path, r.drivePath ?? '', r.blobName ?? ''].map((p) => JSON.stringify(p));
    return `${what}\t${paths.join('\t')}`;
  });
  const more =
    scan.mappedNames + scan.escapedNames > scan.renamed.length
      ? [`# … and more: ${scan.mappedNames} mapped and ${scan.escapedNames} escaped in all`]
      : [];
  await deps.fs.writeFileAtomic(
    path,
    `${['# what\tstaged path\tdrive path (below the container)\tblob name', ...lines, ...more].join('\n')}\n`,
  );
  return path;
}

async function refuseFiles(
  deps: NativeDeps,
  session: OpenSession,
  problems: PathProblem[],
  count: number,
): Promise<never> {
  const path = sessionFiles.problems(session.dir);
  await deps.fs.writeFileAtomic(
    path,
    `${problems.map((p) => `${p.severity}\t${p.rule}\t${p.path}\t${p.message}`).join('\n')}\n`,
  );
  const errors = problems.filter((p) => p.severity === 'error');
  const shown = errors.slice(0, SHOWN_PROBLEMS).map((p) => `  ${JSON.stringify(p.path)}: ${p.message} [${p.rule}]`);
  const more = errors.length > SHOWN_PROBLEMS ? `\n  … full list in ${path}` : '';
  throw new SeedshipError(
    'E_UNSTORABLE',
    `${count} staged file(s) cannot be stored with this session's settings; nothing was copied. ` +
      'Change the settings (as each line says) or move the files out of staging, and run again:\n' +
      `${shown.join('\n')}${more}`,
    { path },
  );
}
