/** The report's throughput chart, as inline SVG. */
import { durationText, escapeHtml, mbpsText } from './html-text.js';
import type { Throughput, ThroughputPoint } from './throughput.js';

/** Colours of the drive lines, told apart in print and by most colour-blind readers. */
export const SERIES_COLOURS = [
  '#0072b2',
  '#d55e00',
  '#009e73',
  '#cc79a7',
  '#e69f00',
  '#56b4e9',
  '#000000',
  '#8c564b',
  '#7f7f7f',
  '#bcbd22',
];

/** Points kept per drive line: more only adds bytes to the page (the chart is ~800 px wide). */
export const CHART_MAX_POINTS = 600;

const W = 860;
const H = 300;
const PAD = { left: 64, right: 16, top: 28, bottom: 40 };

/**
 * The throughput chart as inline SVG: one `<path class="series">` per drive (its line breaks
 * between runs and steps), MB/s over elapsed working time, dashed lines where a step starts.
 * Drawn from the data alone, so the page needs no script and no network to show it.
 */
export function renderThroughputChart(t: Throughput): string {
  const peak = Math.max(0, ...t.series.flatMap((s) => s.segments.flat().map((p) => p.bytesPerSecond)));
  const yMax = niceCeil(peak > 0 ? peak : 1e6);
  const xMax = t.spanMs > 0 ? t.spanMs : 1000;
  const x = (ms: number) => PAD.left + (ms / xMax) * (W - PAD.left - PAD.right);
  const y = (bps: number) => PAD.top + (1 - bps / yMax) * (H - PAD.top - PAD.bottom);
  const bottom = H - PAD.bottom;
  const parts = [
    `<svg id="throughput-chart" class="chart" role="img" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}"` +
      ' xmlns="http://www.w3.org/2000/svg">',
    '<title>Throughput per drive (MB/s) over elapsed time</title>',
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    parts.push(`<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${f(y(v))}" y2="${f(y(v))}"/>`);
    const at = `x="${PAD.left - 6}" y="${f(y(v) + 4)}"`;
    parts.push(`<text class="tick" ${at} text-anchor="end">${tickText(v / 1e6)}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const ms = (xMax * i) / 5;
    const label = escapeHtml(durationText(ms));
    parts.push(`<text class="tick" x="${f(x(ms))}" y="${bottom + 16}" text-anchor="middle">${label}</text>`);
  }
  parts.push(
    `<text class="axis" x="${PAD.left - 6}" y="${PAD.top - 14}" text-anchor="end">MB/s</text>`,
    `<text class="axis" x="${W - PAD.right}" y="${H - 4}" text-anchor="end">elapsed (runs laid end to end)</text>`,
    `<line class="frame" x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${bottom}"/>`,
    `<line class="frame" x1="${PAD.left}" x2="${W - PAD.right}" y1="${bottom}" y2="${bottom}"/>`,
  );
  for (const b of t.boundaries) {
    const at = f(x(b.t));
    const title = `<title>${escapeHtml(b.step)} starts</title>`;
    parts.push(`<line class="boundary" x1="${at}" x2="${at}" y1="${PAD.top}" y2="${bottom}">${title}</line>`);
  }
  const most = Math.max(1, pointCount(t));
  t.series.forEach((s, i) => {
    const d = s.segments
      .map((seg) => thin(seg, Math.max(2, Math.floor((CHART_MAX_POINTS * seg.length) / most))))
      .map(
        (seg) =>
          seg.map((p, j) => `${j === 0 ? 'M' : 'L'}${f(x(p.t))} ${f(y(p.bytesPerSecond))}`).join(' ') +
          (seg.length === 1 ? ' h1' : ''),
      )
      .join(' ');
    const avg = averageRate(s.segments);
    const mean = avg !== undefined ? `${mbpsText(avg)} on average` : 'no samples';
    const title = escapeHtml(`${s.label}: ${mean}`);
    const attrs = `class="series" data-drive="${escapeHtml(s.key)}" stroke="${colourOf(i)}"`;
    parts.push(`<path ${attrs} d="${d}"><title>${title}</title></path>`);
  });
  if (t.series.every((s) => s.segments.length === 0)) {
    const at = `x="${W / 2}" y="${H / 2}"`;
    parts.push(`<text class="empty" ${at} text-anchor="middle">no throughput samples in the run logs</text>`);
  }
  parts.push('</svg>');
  const legend = t.series.map(
    (s, i) => `<li data-drive="${escapeHtml(s.key)}">${swatchOf(i)}${escapeHtml(s.label)}</li>`,
  );
  return `${parts.join('\n')}\n<ul class="legend">${legend.join('')}</ul>`;
}

/** The colour of the `i`-th drive's line. */
export function colourOf(i: number): string {
  return SERIES_COLOURS[i % SERIES_COLOURS.length]!;
}

/** A short bar in the `i`-th drive's colour, for a legend or a table. */
export function swatchOf(i: number): string {
  return `<span class="swatch" style="background:${colourOf(i)}"></span>`;
}

function pointCount(t: Throughput): number {
  return Math.max(...t.series.map((s) => s.segments.reduce((a, g) => a + g.length, 0)), 0);
}

/** Mean of each bucket of points, so a night of 10-second samples stays a readable line. */
function thin(seg: readonly ThroughputPoint[], max: number): ThroughputPoint[] {
  if (seg.length <= max) return [...seg];
  const out: ThroughputPoint[] = [];
  const per = seg.length / max;
  for (let i = 0; i < max; i++) {
    const bucket = seg.slice(Math.floor(i * per), Math.floor((i + 1) * per));
    if (bucket.length === 0) continue;
    const mean = bucket.reduce((a, p) => a + p.bytesPerSecond, 0) / bucket.length;
    out.push({ t: bucket[bucket.length - 1]!.t, bytesPerSecond: mean });
  }
  return out;
}

function averageRate(segments: readonly ThroughputPoint[][]): number | undefined {
  const all = segments.flat();
  return all.length === 0 ? undefined : all.reduce((a, p) => a + p.bytesPerSecond, 0) / all.length;
}

/** The next 1, 2 or 5 times a power of ten at or above `v`. */
function niceCeil(v: number): number {
  const mb = v / 1e6;
  const p = 10 ** Math.floor(Math.log10(mb));
  const n = [1, 2, 5, 10].find((m) => m * p >= mb) ?? 10;
  return n * p * 1e6;
}

/** An axis number: as few digits as the 1-2-5 steps need. */
function tickText(v: number): string {
  return v >= 1 || v === 0 ? String(Math.round(v * 100) / 100) : v.toPrecision(2);
}

function f(n: number): string {
  return n.toFixed(1);
}
