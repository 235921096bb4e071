/**
 * How a progress snapshot reads as text: the plain line written every interval without a
 * terminal, and the lines of the live display. Pure functions of a snapshot, so they are tested
 * without a terminal or a clock.
 */
import { formatBytes, formatDuration } from '../../core/index.js';
import type { ProgressSnapshot, ProgressUnit, TrackSnapshot } from '../../core/index.js';

/** An amount of `unit`: bytes as KiB/MiB/…, the others as a count with their name. */
export function formatAmount(unit: ProgressUnit, n: number): string {
  if (unit === 'bytes') return formatBytes(Math.round(n));
  return `${Math.round(n)} ${unit}`;
}

/** A rate of `unit` a second; `…` while not measured yet. */
export function formatRate(unit: ProgressUnit, perSecond: number): string {
  if (!(perSecond > 0)) return '…/s';
  if (unit === 'bytes') return `${formatBytes(Math.round(perSecond))}/s`;
  return `${perSecond >= 10 ? perSecond.toFixed(0) : perSecond.toFixed(1)} ${unit}/s`;
}

function percent(done: number, total: number | undefined): string | undefined {
  if (total === undefined || total <= 0) return undefined;
  return `${Math.min(100, (100 * done) / total).toFixed(1)}%`;
}

/**
 * `3.20 GiB/10.0 GiB 32.0%`, or `3.20 GiB` while the total is unknown. A drive being written shows
 * its fill instead of a second percentage.
 */
function doneOfTotal(t: TrackSnapshot): string {
  if (t.total === undefined) return formatAmount(t.unit, t.done);
  const filling = fillPart(t) !== undefined && (t.state === 'writing' || t.state === 'sealing');
  const pct = filling ? undefined : percent(t.done, t.total);
  return `${formatAmount(t.unit, t.done)}/${formatAmount(t.unit, t.total)}${pct ? ` ${pct}` : ''}`;
}

/** Files or entries besides bytes: `1200/5000 files`. */
function itemsPart(t: TrackSnapshot): string | undefined {
  if (t.items === undefined) return undefined;
  const noun = t.unit === 'bytes' ? 'files' : 'items';
  return t.itemsTotal !== undefined ? `${t.items}/${t.itemsTotal} ${noun}` : `${t.items} ${noun}`;
}

function etaPart(t: TrackSnapshot): string | undefined {
  const finished = t.total !== undefined && t.done >= t.total;
  return t.etaSeconds !== undefined && !finished ? `ETA ${formatDuration(t.etaSeconds)}` : undefined;
}

/** A drive's fill: `(40% full)`. */
export function fillPart(t: TrackSnapshot): string | undefined {
  if (t.used === undefined || t.capacity === undefined || t.capacity <= 0) return undefined;
  return `(${Math.min(100, (100 * t.used) / t.capacity).toFixed(0)}% full)`;
}

function join(parts: readonly (string | undefined)[], sep: string): string {
  return parts.filter((p): p is string => p !== undefined && p !== '').join(sep);
}

/** One track in a plain line: `SS0001 /mnt/a: writing 1.10 GiB 22.0 MiB/s (40% full)`. */
export function plainTrackPart(t: TrackSnapshot): string {
  const parts = [t.state, fillPart(t), doneOfTotal(t), itemsPart(t), formatRate(t.unit, t.rate), etaPart(t)];
  return `${t.label}: ${join(parts, ' ')}`;
}

/**
 * The plain line (no terminal): step, phase, elapsed, done/total, rate, ETA, then a short part
 * per track. One line whatever the number of tracks, so `grep` and log shippers keep it whole.
 */
export function plainLine(s: ProgressSnapshot): string {
  const head = `seedship: ${s.step} ${s.phase}${s.message ? ` (${s.message})` : ''}`;
  const t = s.total;
  const elapsed = `elapsed ${formatDuration(s.elapsedMs / 1000)}`;
  const whole = join([elapsed, doneOfTotal(t), itemsPart(t), formatRate(t.unit, t.rate), etaPart(t)], ', ');
  return `${head}: ${whole}${s.tracks.map((tr) => ` | ${plainTrackPart(tr)}`).join('')}`;
}

/** A text bar of `width` cells for `done` of `total` (empty while the total is unknown). */
export function textBar(done: number, total: number | undefined, width: number): string {
  if (total === undefined || total <= 0) return ' '.repeat(width);
  const full = Math.max(0, Math.min(width, Math.round((width * done) / total)));
  return '#'.repeat(full) + '-'.repeat(width - full);
}

/**
 * The live display's line for the whole step: phase, elapsed, done/total, files, rate, ETA, bar.
 * What matters most comes first: a narrow terminal cuts the end.
 */
export function liveStepLine(s: ProgressSnapshot): string {
  const t = s.total;
  const phase = `${s.step} ${s.phase}${s.message ? ` (${s.message})` : ''}`;
  const bar = t.total !== undefined ? `[${textBar(t.done, t.total, 20)}]` : undefined;
  const elapsed = `elapsed ${formatDuration(s.elapsedMs / 1000)}`;
  return join([phase, elapsed, doneOfTotal(t), itemsPart(t), formatRate(t.unit, t.rate), etaPart(t), bar], '  ');
}

/** The live display's line for one track (a drive): label, state, fill, done/total, rate, ETA, bar. */
export function liveTrackLine(t: TrackSnapshot): string {
  const bar = t.total !== undefined ? `[${textBar(t.done, t.total, 20)}]` : undefined;
  const rate = formatRate(t.unit, t.rate);
  const parts = [t.label, t.state, fillPart(t), doneOfTotal(t), itemsPart(t), rate, etaPart(t), bar];
  return `  ${join(parts, '  ')}`;
}

/** Cut a line to `width` columns (the display must not wrap, or its lines would drift). */
export function fitWidth(line: string, width: number): string {
  const chars = [...line];
  return chars.length <= width ? line : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}
