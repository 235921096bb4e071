/** Page size of Azure page blobs: ranges must start and end on 512-byte boundaries. */
export const PAGE_BYTES = 512;

/**
 * The 512-byte aligned runs of `data` that hold any non-zero byte, merged where adjacent.
 * All-zero pages are left out: a page blob reads them back as zeros (sparse VHDs).
 * The last run may end at `data.length` when that is not a multiple of 512.
 */
export function nonZeroPageRanges(data: Uint8Array): { at: number; length: number }[] {
  const out: { at: number; length: number }[] = [];
  const words =
    data.byteOffset % 4 === 0 ? new Uint32Array(data.buffer, data.byteOffset, Math.floor(data.length / 4)) : undefined;
  let start = -1;
  for (let p = 0; p < data.length; p += PAGE_BYTES) {
    const end = Math.min(p + PAGE_BYTES, data.length);
    let zero = true;
    if (words && end - p === PAGE_BYTES) {
      for (let w = p / 4; w < end / 4; w++) {
        if (words[w] !== 0) {
          zero = false;
          break;
        }
      }
    } else {
      for (let i = p; i < end; i++) {
        if (data[i] !== 0) {
          zero = false;
          break;
        }
      }
    }
    if (!zero && start < 0) start = p;
    if (zero && start >= 0) {
      out.push({ at: start, length: p - start });
      start = -1;
    }
  }
  if (start >= 0) out.push({ at: start, length: data.length - start });
  return out;
}
