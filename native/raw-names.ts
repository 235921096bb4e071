/**
 * File names as Linux keeps them: bytes, not text. A name that is valid UTF-8 is carried as the
 * string it spells; every byte of a name that is not part of a valid UTF-8 sequence is carried as
 * the lone surrogate U+DC00+byte (U+DC80..U+DCFF), Python's "surrogateescape". Valid UTF-8 never
 * decodes to a lone surrogate, so `encodeBytes(decodeName(b))` gives back `b` exactly for every
 * byte string `b`, and such strings can be joined, split at '/' and stored like any other.
 *
 * Node decodes names with U+FFFD for invalid bytes (losing them) and encodes strings with U+FFFD
 * for lone surrogates; so a name string goes to node:fs through `encodePath`, and names come back
 * through `decodeName`.
 */

/** String.prototype.isWellFormed (ES2024, in Node 20's V8): false when a lone surrogate is present. */
interface WellFormed {
  isWellFormed(): boolean;
}

function isWellFormed(s: string): boolean {
  return (s as unknown as WellFormed).isWellFormed();
}

/** Length of the well-formed UTF-8 sequence at `i` (Unicode 15, table 3-7), or 0 if there is none. */
function sequenceLength(b: Uint8Array, i: number): number {
  const b0 = b[i]!;
  if (b0 < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => {
    const x = b[i + k];
    return x !== undefined && x >= lo && x <= hi;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    // E0 would be an overlong below A0; ED A0..BF would encode a surrogate.
    const ok = b0 === 0xe0 ? cont(1, 0xa0) : b0 === 0xed ? cont(1, 0x80, 0x9f) : cont(1);
    return ok && cont(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    // F0 would be an overlong below 90; F4 90.. would be above U+10FFFF.
    const ok = b0 === 0xf0 ? cont(1, 0x90) : b0 === 0xf4 ? cont(1, 0x80, 0x8f) : cont(1);
    return ok && cont(2) && cont(3) ? 4 : 0;
  }
  // 80..C1 (a stray continuation byte or an overlong lead) and F5..FF never start a sequence.
  return 0;
}

/** The slow path of decodeName: runs of valid UTF-8 decoded by Node, every other byte escaped. */
function decodeEscaping(buf: Buffer): string {
  let out = '';
  let run = 0;
  for (let i = 0; i < buf.length; ) {
    const n = sequenceLength(buf, i);
    if (n > 0) {
      i += n;
      continue;
    }
    if (run < i) out += buf.toString('utf8', run, i);
    out += String.fromCharCode(0xdc00 + buf[i]!);
    run = ++i;
  }
  if (run < buf.length) out += buf.toString('utf8', run);
  return out;
}

/** The name (or link target, or path) that the bytes `buf` spell, invalid bytes escaped. */
export function decodeName(buf: Uint8Array): string {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const s = b.toString('utf8');
  // Node's decoder is strict (no overlongs, no encoded surrogates): no U+FFFD in its answer means
  // the bytes were valid UTF-8 and the answer is exact. A U+FFFD may still be a real one.
  return s.includes('\uFFFD') ? decodeEscaping(b) : s;
}

/** A string that `encodeBytes` cannot turn back into bytes; never made by `decodeName`. */
function unencodable(s: string, at: number): TypeError {
  const unit = s.charCodeAt(at).toString(16).toUpperCase();
  return Object.assign(
    new TypeError(
      `The path ${JSON.stringify(s)} holds a lone surrogate U+${unit}, ` +
        'which is neither text nor an escaped byte (U+DC80..U+DCFF)',
    ),
    { code: 'ERR_INVALID_ARG_VALUE' },
  );
}

/**
 * The bytes a name string stands for: UTF-8, with each escape U+DC80..U+DCFF turned back into its
 * byte. Throws a TypeError (code ERR_INVALID_ARG_VALUE) for any other lone surrogate.
 */
export function encodeBytes(s: string): Buffer {
  if (isWellFormed(s)) return Buffer.from(s, 'utf8');
  const parts: Buffer[] = [];
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++; // a pair: one supplementary character, text
        continue;
      }
      throw unencodable(s, i);
    }
    if (c < 0xdc80 || c > 0xdcff) throw unencodable(s, i);
    if (run < i) parts.push(Buffer.from(s.slice(run, i), 'utf8'));
    // Consecutive escapes (the usual case: a non-UTF-8 name is rarely one odd byte) in one part.
    let j = i;
    while (j < s.length && s.charCodeAt(j) >= 0xdc80 && s.charCodeAt(j) <= 0xdcff) j++;
    const bytes = Buffer.allocUnsafe(j - i);
    for (let k = i; k < j; k++) bytes[k - i] = s.charCodeAt(k) - 0xdc00;
    parts.push(bytes);
    run = j;
    i = j - 1;
  }
  if (run < s.length) parts.push(Buffer.from(s.slice(run), 'utf8'));
  return Buffer.concat(parts);
}

/**
 * What to give node:fs for a path: the string itself when it has no lone surrogate (the fast path:
 * every path that is valid UTF-8), else the exact bytes. Throws like `encodeBytes`.
 */
export function encodePath(s: string): string | Buffer {
  return isWellFormed(s) ? s : encodeBytes(s);
}

/** True when `s` carries a byte that is not UTF-8 (a lone surrogate): such a name is no valid blob name. */
export function hasEscapedBytes(s: string): boolean {
  return !isWellFormed(s);
}
