/** Renders the session report as one self-contained HTML page. */
import { bytesText, escapeHtml as h, formatTime } from './html-text.js';
import { renderThroughputChart, swatchOf } from './report-chart.js';
import type { ReportData, ReportDrive } from './report-data.js';
import type { Listed } from './session-lists.js';

/** The page's own style: inline, so the file shows the same anywhere, offline, with no font to fetch. */
const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1b1f23}
body{margin:24px auto;max-width:1100px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.sub{color:#57606a}.small{font-size:12px}.ok{color:#1a7f37}.bad{color:#cf222e}
.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12.5px;word-break:break-all}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:#f6f8fa;font-weight:600}td.id{white-space:nowrap}td.num{text-align:right;white-space:nowrap}
table.kv th{width:220px;background:none;font-weight:500;color:#57606a}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.s-sealed,.r-ok{background:#1a7f37}.s-open{background:#0969da}.s-full{background:#9a6700}
.s-failed,.r-failed{background:#cf222e}.r-not-read-back,.r-not-sealed{background:#6e7781}
.fill{width:140px;height:10px;background:#eaeef2;border-radius:5px;overflow:hidden;display:inline-block}
.fill{vertical-align:middle}.fill span{display:block;height:100%;background:#0969da}
.notes{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:8px 12px}.notes li{margin:2px 0}
.chart .grid{stroke:#eaeef2}.chart .frame{stroke:#8c959f}.chart .boundary{stroke:#8c959f;stroke-dasharray:4 4}
.chart .tick,.chart .axis{font-size:11px;fill:#57606a}.chart .empty{font-size:14px;fill:#57606a}
.chart .series{fill:none;stroke-width:2;stroke-linejoin:round}
.legend{list-style:none;padding:0;margin:4px 0 0 64px;display:flex;flex-wrap:wrap;gap:4px 18px}
.swatch{display:inline-block;width:14px;height:4px;margin-right:6px;vertical-align:middle}
@media print{body{margin:0}h2{break-after:avoid}}
`;

/** Forbids every fetch: the page is whole by itself, and a browser that finds otherwise says so. */
const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const NAMES_INTRO =
  'mapped: NTFS would not keep the name, the drive holds another; ' +
  'escaped: no blob name can carry it. Restore gives every original name back.';

/**
 * The report as one HTML page: inline style and SVG, no script, no link to anything outside the
 * file. Every string that comes from the session (names, paths, messages) is escaped. Pure: the
 * same data gives the same page.
 */
export function renderReportHtml(data: ReportData): string {
  const s = data.settings;
  const title = `seedship report: job ${s.job}`;
  const written = `written ${h(formatTime(data.generatedAt))} by seedship ${h(data.version)}`;
  const skipped = listSection(data.skipped, {
    title: 'Skipped',
    id: 'skipped',
    head: ['Staged path', 'Reason'],
    cells: (r) => [mono(r.path), h(r.reason)],
  });
  const renamed = listSection(data.renamed, {
    title: 'Renamed or escaped',
    id: 'renamed',
    head: ['What', 'Staged path', 'Name on the drive', 'Blob name'],
    cells: (r) => [h(r.what), mono(r.path), mono(r.drivePath || '—'), mono(r.blobName || '—')],
    intro: NAMES_INTRO,
  });
  const problems =
    data.problems.count === 0
      ? ''
      : listSection(data.problems, {
          title: 'Files this session cannot store',
          id: 'problems',
          head: ['Severity', 'Rule', 'Staged path', 'Message'],
          cells: (r) => [h(r.severity), h(r.rule), mono(r.path), h(r.message)],
        });
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="seedship ${h(data.version)}">
<title>${h(title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${h(title)}</h1>
<div class="sub">${written} from the session <span class="mono">${h(data.sessionDir)}</span></div>
${notesSection(data.notes)}
${jobSection(data)}
${drivesSection(data.drives)}
<h2>Throughput per drive</h2>
<p class="sub">MB/s per drive between two progress samples of the run logs (written by prepare, read by verify);
the runs are laid end to end without the time between them.</p>
${renderThroughputChart(data.throughput)}
${skipped}
${renamed}
${problems}
${warningsSection(data)}
${runsSection(data)}
</body>
</html>
`;
}

function mono(text: string): string {
  return `<span class="mono">${h(text)}</span>`;
}

/** A table row; a cell that brings its own `<td …>` keeps it. */
function row(cells: readonly string[], attrs = ''): string {
  return `<tr${attrs}>${cells.map((c) => (c.startsWith('<td') ? c : `<td>${c}</td>`)).join('')}</tr>`;
}

function table(head: readonly string[], rows: readonly string[], attrs = ''): string {
  return (
    `<table${attrs}><thead><tr>${head.map((x) => `<th>${h(x)}</th>`).join('')}</tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

function kv(pairs: readonly [string, string | undefined][]): string {
  const rows = pairs
    .filter((p): p is [string, string] => p[1] !== undefined)
    .map(([k, v]) => `<tr><th>${h(k)}</th><td>${v}</td></tr>`);
  return `<table class="kv">${rows.join('')}</table>`;
}

function notesSection(notes: readonly string[]): string {
  if (notes.length === 0) return '';
  const items = notes.map((n) => `<li>${h(n)}</li>`).join('');
  return `<div class="notes" id="notes"><strong>Not everything could be read:</strong><ul>${items}</ul></div>`;
}

function jobSection(data: ReportData): string {
  const s = data.settings;
  const st = data.state;
  const ratio = st && st.rawBytes > 0 ? ` (ratio ${(st.storedBytes / st.rawBytes).toFixed(2)})` : '';
  const state =
    st === undefined
      ? 'unknown (journal unreadable)'
      : st.done
        ? '<span class="ok">copy complete</span>'
        : 'not complete: run prepare again with a drive that has room';
  const job = data.job.record;
  const ship = data.job.shipping;
  const jobText = job
    ? h(`${job.job} in ${job.account} (${job.resourceGroup}), ${job.location}, created ${formatTime(job.createdAt)}`)
    : 'not created yet (seedship job create)';
  return `<h2>Job</h2>
${kv([
  ['Job', h(s.job)],
  ['Job id', mono(s.jobId)],
  ['Container', h(s.container)],
  ['Staging', mono(s.staging)],
  ['Codec', h(s.codec === 'zstd' ? `zstd level ${s.level}` : 'none')],
  ['Blob type', h(s.blobType)],
  ['Encryption', s.encrypt ? 'AES-256 per drive (keys in the session dir only)' : 'none by seedship'],
  ['Import disposition', h(s.disposition)],
  ['Service-strict', s.serviceStrict ? 'yes' : 'no'],
  ['Session started', h(formatTime(s.createdAt))],
  ['State', state],
  ['Runs of prepare', st ? String(st.runs) : undefined],
  ['Files copied', st ? String(st.filesDone) : undefined],
  ['Files skipped', st ? String(st.filesSkipped) : undefined],
  ['Bytes', st ? h(`${bytesText(st.rawBytes)} staged → ${bytesText(st.storedBytes)} on drives${ratio}`) : undefined],
  ['Import/Export job', jobText],
  ['Job drives', job ? mono(job.drives.join(', ')) : undefined],
  ['Shipped', ship ? h(`${ship.carrier} ${ship.trackingNumber}, ${formatTime(ship.sentAt)}`) : undefined],
])}`;
}

function drivesSection(drives: readonly ReportDrive[]): string {
  const head = [
    'Drive',
    'Path',
    'Status',
    'Fill',
    'Stored',
    'Staged bytes',
    'Blobs',
    'Read-back',
    'Verify',
    'Manifest hash',
  ];
  const rows = drives.map((d, i) => {
    const pct = d.budgetBytes > 0 ? Math.min(100, (100 * d.usedBytes) / d.budgetBytes) : 0;
    const of = `${bytesText(d.usedBytes)} of ${bytesText(d.budgetBytes)}`;
    const bar = `<span class="fill"><span style="width:${pct.toFixed(1)}%"></span></span>`;
    const fill = `${bar} ${pct.toFixed(0)}%<br><span class="sub small">${h(of)}</span>`;
    const id = h(d.driveId);
    return row(
      [
        // The same colour as the drive's line in the chart (series come in drive order).
        `<td class="id">${swatchOf(i)}<strong>${id}</strong></td>`,
        mono(d.path),
        `<span class="badge s-${h(d.status)}">${h(d.status)}</span>`,
        `<td class="num">${fill}</td>`,
        `<td class="num">${h(bytesText(d.storedBytes))}</td>`,
        `<td class="num">${h(bytesText(d.rawBytes))}</td>`,
        `<td class="num">${d.blobs}</td>`,
        `<span class="badge r-${h(d.readBack.replace(/ /g, '-'))}">${h(d.readBack)}</span>`,
        verifyText(d),
        mono(d.manifestHash ?? '—'),
      ],
      ` id="drive-${id}" class="drive" data-drive="${id}"`,
    );
  });
  if (drives.length === 0) rows.push('<tr><td colspan="10">no drive in the journal</td></tr>');
  return `<h2>Drives (${drives.length})</h2>
${table(head, rows, ' id="drives"')}
<p class="sub">Ship only drives that are sealed and read back (or verified). A failed drive holds nothing the job needs:
what it held was copied again onto other drives.</p>`;
}

function verifyText(d: ReportDrive): string {
  const v = d.verify;
  if (!v) return '<span class="sub">not run on it</span>';
  const what =
    v.exitCode === 0
      ? '<span class="ok">passed</span>'
      : v.exitCode === undefined
        ? 'did not finish'
        : `<span class="bad">failed (exit ${v.exitCode})</span>`;
  return `${what} <span class="sub">${h(formatTime(v.at))}</span>`;
}

/** How a list of the session shows as a section: its heading, anchor, columns and one row's cells. */
interface ListSectionLook<T> {
  readonly title: string;
  readonly id: string;
  readonly head: readonly string[];
  readonly cells: (r: T) => string[];
  readonly intro?: string;
}

function listSection<T>(list: Listed<T>, { title, id, head, cells, intro }: ListSectionLook<T>): string {
  if (list.count === 0) return `<h2 id="${id}">${h(title)} (0)</h2><p class="sub">none</p>`;
  const file = `<span class="mono">${h(list.file ?? '')}</span>`;
  const cut = list.count > list.rows.length;
  const more = cut ? `<p class="sub">${list.rows.length} of ${list.count} shown; all are in ${file}.</p>` : '';
  return `<h2 id="${id}">${h(title)} (${list.count})</h2>${intro ? `<p class="sub">${h(intro)}</p>` : ''}
<p class="sub">from ${file}</p>
${table(
  head,
  list.rows.map((r) => row(cells(r))),
)}${more}`;
}

function warningsSection(data: ReportData): string {
  const w = data.warnings;
  if (w.length === 0) return '<h2 id="warnings">Warnings (0)</h2><p class="sub">none in the run logs</p>';
  const rows = w.map((x) => {
    const level = `<span class="${x.level === 'error' ? 'bad' : ''}">${h(x.level)}</span>`;
    return row([h(formatTime(x.time)), h(x.command), level, h(x.message)]);
  });
  return `<h2 id="warnings">Warnings (${w.length})</h2>
${table(['Time', 'Command', 'Level', 'Message'], rows)}`;
}

function runsSection(data: ReportData): string {
  const rows = data.runs.map((r) =>
    row([
      h(formatTime(r.startedAt)),
      h(formatTime(r.endedAt)),
      h(r.command),
      r.exitCode === undefined
        ? '<span class="sub">no end (running or killed)</span>'
        : `<span class="${r.exitCode === 0 ? 'ok' : 'bad'}">${r.exitCode}</span>`,
      `<td class="num">${r.warnings}</td>`,
      `<td class="num">${r.errors}</td>`,
      mono(r.argv.join(' ')),
      mono(r.file),
    ]),
  );
  if (data.runs.length === 0) rows.push('<tr><td colspan="8">no run logs</td></tr>');
  return `<h2 id="runs">Runs (${data.runs.length})</h2>
${table(['Start', 'End', 'Command', 'Exit code', 'Warnings', 'Errors', 'Command line', 'Log'], rows)}`;
}
