/** One fdatasync'ed window of a drive write test. */
export interface WriteWindow {
  readonly bytes: number;
  /** Seconds from the window's first write to the end of its fdatasync. */
  readonly seconds: number;
}

/** Where a drive's write rate fell, and from what to what (bytes per second). */
export interface WriteCliff {
  readonly fromRate: number;
  readonly toRate: number;
  /** Bytes written before the slow part began. */
  readonly afterBytes: number;
}

export interface WriteRateSummary {
  /** Rate over the first third of the windows (all of them when fewer than 3). */
  readonly firstRate: number;
  /** Rate over the last third of the windows. */
  readonly lastRate: number;
  readonly cliff: WriteCliff | undefined;
}

/**
 * A cliff is the last third of the windows writing below this share of the first third's rate.
 * 0.6 leaves room for the ~20 % an HDD loses from outer to inner tracks and for noise from other
 * load, while an SMR drive or a full SSD cache typically drops to a half or far less.
 */
export const CLIFF_SHARE = 0.6;

function rateOf(ws: readonly WriteWindow[]): number {
  const seconds = ws.reduce((a, w) => a + w.seconds, 0);
  const bytes = ws.reduce((a, w) => a + w.bytes, 0);
  return seconds > 0 ? bytes / seconds : 0;
}

/**
 * Compare the first and last thirds of a write test and, on a cliff, find where it began: the split
 * into a before and an after part that best fits the window rates (least squared error), so one
 * slow window early on does not move the point.
 */
export function detectWriteCliff(windows: readonly WriteWindow[], share = CLIFF_SHARE): WriteRateSummary {
  const third = Math.floor(windows.length / 3);
  if (third === 0) {
    const all = rateOf(windows);
    return { firstRate: all, lastRate: all, cliff: undefined };
  }
  const firstRate = rateOf(windows.slice(0, third));
  const lastRate = rateOf(windows.slice(windows.length - third));
  if (!(lastRate < share * firstRate)) return { firstRate, lastRate, cliff: undefined };
  const rates = windows.map((w) => (w.seconds > 0 ? w.bytes / w.seconds : 0));
  let best = { split: windows.length - third, cost: Infinity };
  for (let split = 1; split < windows.length; split++) {
    const before = rateOf(windows.slice(0, split));
    const after = rateOf(windows.slice(split));
    let cost = 0;
    for (let i = 0; i < windows.length; i++) cost += (rates[i]! - (i < split ? before : after)) ** 2;
    if (cost < best.cost) best = { split, cost };
  }
  const afterBytes = windows.slice(0, best.split).reduce((a, w) => a + w.bytes, 0);
  return {
    firstRate,
    lastRate,
    cliff: { fromRate: rateOf(windows.slice(0, best.split)), toRate: rateOf(windows.slice(best.split)), afterBytes },
  };
}
