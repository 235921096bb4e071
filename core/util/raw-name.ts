/**
 * Names on Linux are bytes; seedship carries them as JavaScript strings in which every byte that
 * is not part of valid UTF-8 is a lone surrogate U+DC80..U+DCFF (Python's surrogateescape). Valid
 * UTF-8 decodes as usual, so the common case costs nothing. Pure functions: no I/O.
 */

const ESCAPE_BASE = 0xdc00;

/** True when `s` carries at least one escaped byte (a lone surrogate). */
export function hasEscapedBytes(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      if (c <= 0xdbff && i + 1 < s.length) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          i++;
          continue;
        }
      }
      return true;
    }
  }
  return false;
}

/** The bytes a name string stands for: UTF-8, with escaped bytes restored. */
export function encodeRawName(s: string): Buffer {
  if (!hasEscapedBytes(s)) return Buffer.from(s, 'utf8');
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
    }
    if (c >= 0xdc80 && c <= 0xdcff) {
      parts.push(Buffer.from(s.slice(start, i), 'utf8'), Buffer.of(c - ESCAPE_BASE));
      start = i + 1;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      throw new RangeError(`name holds an unpaired surrogate U+${c.toString(16).toUpperCase()} that stands for no byte`);
    }
  }
  parts.push(Buffer.from(s.slice(start), 'utf8'));
  return Buffer.concat(parts);
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there starts none. */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const x = b[i]!;
  if (x < 0x80) return 1;
  const cont = (k: number) => i + k < b.length && (b[i + k]! & 0xc0) === 0x80;
  if (x >= 0xc2 && x <= 0xdf) return cont(1) ? 2 : 0;
  if (x >= 0xe0 && x <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    const y = b[i + 1]!;
    if (x === 0xe0 && y < 0xa0) return 0; // overlong
    if (x === 0xed && y >= 0xa0) return 0; // an encoded surrogate
    return 3;
  }
  if (x >= 0xf0 && x <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const y = b[i + 1]!;
    if (x === 0xf0 && y < 0x90) return 0; // overlong
    if (x === 0xf4 && y >= 0x90) return 0; // beyond U+10FFFF
    return 4;
  }
  return 0;
}

/** The string for a name's bytes: UTF-8, every byte of an invalid sequence escaped on its own. */
export function decodeRawName(b: Uint8Array): string {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
  let out = '';
  let start = 0;
  for (let i = 0; i < buf.length; ) {
    const n = utf8SequenceLength(buf, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += buf.toString('utf8', start, i) + String.fromCharCode(ESCAPE_BASE + buf[i]!);
    i++;
    start = i;
  }
  return out + buf.toString('utf8', start);
}
