/**
 * Synthetic sample data for `bench` when no staging tree is given: made in memory from a seed, so
 * every run measures the same bytes, without fixtures or the network.
 */

/** The built-in data sets: log-like text (zstd ratio ~0.2–0.4) and incompressible bytes. */
export type SyntheticKind = 'text' | 'random';

/** xorshift32: fast and seedable; statistical quality does not matter for sample bytes. */
export class SampleRng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0 || 0x9e3779b9;
  }
  u32(): number {
    let x = this.#s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#s = x >>> 0;
    return this.#s;
  }
  int(n: number): number {
    return this.u32() % n;
  }
  /** Fill `buf` with random bytes. */
  fill(buf: Uint8Array): void {
    const words = Math.floor(buf.length / 4);
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    for (let i = 0; i < words; i++) view.setUint32(i * 4, this.u32(), true);
    for (let i = words * 4; i < buf.length; i++) buf[i] = this.u32() & 0xff;
  }
}

const WORDS = [
  'backup',
  'chunk',
  'drive',
  'error',
  'file',
  'journal',
  'manifest',
  'seed',
  'ship',
  'block',
  'upload',
  'retry',
  'session',
  'commit',
  'offset',
  'volume',
];
const LEVELS = ['INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'];

/**
 * `size` bytes of `kind`. Text is application-log-like lines: a timestamp, a level, a few words
 * and numbers, so zstd finds the repetition real logs and CSV exports have, not a trivial pattern.
 */
export function syntheticBytes(kind: SyntheticKind, size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  const rng = new SampleRng(seed);
  if (kind === 'random') {
    rng.fill(out);
    return out;
  }
  let o = 0;
  let t = 1_767_225_600 + rng.int(86_400);
  while (o < size) {
    t += rng.int(3);
    const words: string[] = [];
    for (let i = 2 + rng.int(6); i > 0; i--) words.push(WORDS[rng.int(WORDS.length)]!);
    const line =
      `${new Date(t * 1000).toISOString()} ${LEVELS[rng.int(LEVELS.length)]} [worker-${rng.int(16)}]` +
      ` ${words.join(' ')} id=${rng.u32().toString(16)}` +
      ` bytes=${rng.int(4_194_304)} took=${rng.int(5000)}ms\n`;
    o += out.write(line, o);
  }
  return out;
}
