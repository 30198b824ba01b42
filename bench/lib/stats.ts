/** Summaries and verdicts over benchmark rounds: pure functions, unit-tested (no timing in tests). */

/** One figure over several rounds. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** Number of rounds. */
  n: number;
}

export type Verdict = 'faster' | 'slower' | 'tie';

/** Median (mean of the middle two for an even count), min and max. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new RangeError('summarize needs at least one value');
  if (values.some((v) => !Number.isFinite(v)))
    throw new RangeError(`not a finite figure in ${values.join(', ')}`);
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, n: sorted.length };
}

/**
 * Nearest-rank percentile (the smallest value with at least `p` of the samples at or below it); the Python peers
 * use the same definition.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('percentile needs at least one value');
  if (!(p > 0 && p <= 1)) throw new RangeError(`percentile p must be in (0, 1], got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

/**
 * Ours against theirs from their ranges over rounds: "faster" only when every round of ours beat every round of
 * theirs (the ranges do not overlap), "slower" the other way round, else "tie". One round a side is never enough to
 * call it.
 */
export function verdict(ours: Summary, theirs: Summary, better: 'higher' | 'lower'): Verdict {
  if (ours.n < 2 || theirs.n < 2) return 'tie';
  const [oursLow, oursHigh, theirsLow, theirsHigh] =
    better === 'higher'
      ? [ours.min, ours.max, theirs.min, theirs.max]
      : [-ours.max, -ours.min, -theirs.max, -theirs.min];
  if (oursLow > theirsHigh) return 'faster';
  if (oursHigh < theirsLow) return 'slower';
  return 'tie';
}

/** How many times better ours is (medians): > 1 is better whichever direction the figure runs. */
export function speedRatio(ours: Summary, theirs: Summary, better: 'higher' | 'lower'): number {
  return better === 'higher' ? ours.median / theirs.median : theirs.median / ours.median;
}

/** The entry with the best median of a figure. */
export function bestBy<T>(
  entries: readonly T[],
  figure: (entry: T) => Summary | undefined,
  better: 'higher' | 'lower',
): T | undefined {
  let best: T | undefined;
  let bestMedian = 0;
  for (const entry of entries) {
    const summary = figure(entry);
    if (!summary) continue;
    if (
      best === undefined ||
      (better === 'higher' ? summary.median > bestMedian : summary.median < bestMedian)
    ) {
      best = entry;
      bestMedian = summary.median;
    }
  }
  return best;
}
