// `seedship report`: write the HTML report of a session (also written at the end of prepare).
import type { Command } from 'commander';
import { report, SEEDSHIP_VERSION } from '../../core/index.js';
import type { CliContext } from '../shared/context.js';
import { EXIT } from '../shared/exit-codes.js';
import { sessionOption } from '../shared/options.js';
import { printNotice, printResult } from '../shared/output.js';
import type { SetExit } from '../shared/types.js';

interface ReportFlags {
  session: string;
  out?: string;
  json?: boolean;
}

export function registerReport(program: Command, ctx: CliContext, setExit: SetExit): void {
  program
    .command('report')
    .description(
      'write one self-contained HTML page about a session: the job, each drive (fill, blobs, read-back, ' +
        'verify), throughput per drive over time, skipped and renamed files, warnings and runs',
    )
    .addOption(sessionOption('the session dir of the prepare run').makeOptionMandatory())
    .option('--out <file>', 'where to write the page (default <session>/report.html)')
    .option('--json', 'the gathered data and the file written as one JSON object on stdout')
    .addHelpText(
      'after',
      '\nThe page needs no network to be viewed (inline style and SVG, no script); ' +
        'prepare writes it at the end of every run.\n',
    )
    .action(async (flags: ReportFlags) => setExit(await reportAction(ctx, flags)));
}

async function reportAction(ctx: CliContext, flags: ReportFlags): Promise<number> {
  const { file, data } = await writeReport(ctx, flags.session, flags.out);
  printResult(ctx, flags.json === true, { file, report: data }, () => {
    const failed = data.drives.filter((d) => d.status === 'failed' || d.readBack === 'failed').length;
    const notes = data.notes.length > 0 ? ` (${data.notes.length} note(s): not everything could be read)` : '';
    const drives = `${data.drives.length} drive(s)${failed > 0 ? `, ${failed} failed` : ''}`;
    return `report of job ${data.settings.job}: ${drives}, ${data.runs.length} run(s): ${file}${notes}\n`;
  });
  return EXIT.OK;
}

/** Gather the session's report and write its page; returns the file written and the data. */
export async function writeReport(
  ctx: CliContext,
  session: string,
  out?: string,
  current?: report.GatherOptions['current'],
): Promise<{ file: string; data: report.ReportData }> {
  const data = await report.gatherReport(ctx.deps.fs, ctx.deps.clock, session, { version: SEEDSHIP_VERSION, current });
  const file = out ?? report.defaultReportFile(session);
  await ctx.deps.fs.writeFileAtomic(file, report.renderReportHtml(data));
  return { file, data };
}

/**
 * prepare's last act: write the session's report and say where it is. A report that cannot be
 * written is a warning, never the run's failure: the drives are what matters. Returns `code`.
 */
export async function reportAtEnd(ctx: CliContext, session: string, json: boolean, code: number): Promise<number> {
  try {
    const { file } = await writeReport(ctx, session, undefined, { file: ctx.log.file, exitCode: code });
    printNotice(ctx, json, 'info', `report: ${file}`, { report: file });
  } catch (err) {
    const why = (err as Error).message;
    printNotice(
      ctx,
      json,
      'warning',
      `the report of ${session} could not be written (${why}); ` +
        `run seedship report --session ${session} to try again`,
    );
  }
  return code;
}
