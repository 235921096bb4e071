/** Text helpers of the HTML report: escaping, times, sizes, rates. */
import { formatBytes, formatDuration } from '../util/size.js';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Text for HTML content and attribute values. File names may hold any character: markup
 * characters become entities, and control characters (which HTML cannot show and which could
 * hide part of a name) become a visible `\xNN`.
 */
export function escapeHtml(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are matched to show them as \xNN
  return text.replace(/[&<>"']|[\u0000-\u0008\u000b-\u001f\u007f-\u009f]|\n|\t/g, (c) => {
    const e = ENTITIES[c];
    if (e) return e;
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** A time (ms since the epoch) as UTC, to the second. */
export function formatTime(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
}

export function bytesText(n: number): string {
  return formatBytes(Math.max(0, Math.round(n)));
}

/** A length of time (ms) on an axis or in a table: 45s, 12m 05s, 3h 20m. */
export function durationText(ms: number): string {
  return formatDuration(Math.max(0, ms) / 1000);
}

/** Decimal megabytes a second, as drive makers and the service state speeds. */
export function mbpsText(bytesPerSecond: number): string {
  const v = bytesPerSecond / 1e6;
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} MB/s`;
}
