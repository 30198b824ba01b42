import type { Calibration, ClassScores, PerClassScores, ReliabilityBin } from './types.ts';

export const ECE_DEFINITION =
  'Confidences (max softmax probability) are split into equal-width bins (lower, upper] over [0, 1]; ' +
  'ECE = sum over bins of (bin count / examples) * |bin accuracy - bin mean confidence| (Guo et al., 2017). ' +
  'MCE is the largest |accuracy - confidence| over non-empty bins.';

/** Index of the (lower, upper] bin holding a confidence, with 0 in the first bin and 1 in the last. */
export function binIndex(confidence: number, bins: number): number {
  return Math.min(bins - 1, Math.max(0, Math.ceil(confidence * bins) - 1));
}

/** Per-class precision, recall, F1 and support from a confusion matrix [true][predicted]. Zero division gives 0. */
export function classScores(confusion: number[][], classNames: string[]): PerClassScores[] {
  const k = classNames.length;
  return classNames.map((name, c) => {
    const row = confusion[c] ?? [];
    const truePositives = row[c] ?? 0;
    const support = row.reduce((sum, n) => sum + n, 0);
    let predicted = 0;
    for (let t = 0; t < k; t += 1) predicted += confusion[t]?.[c] ?? 0;
    const precision = predicted === 0 ? 0 : truePositives / predicted;
    const recall = support === 0 ? 0 : truePositives / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { class: name, precision, recall, f1, support };
  });
}

/** Macro (unweighted) and support-weighted means of per-class scores. */
export function averageScores(scores: PerClassScores[]): { macro: ClassScores; weighted: ClassScores } {
  const total = scores.reduce((sum, s) => sum + s.support, 0);
  const mean = (
    pick: (s: PerClassScores) => number,
    weight: (s: PerClassScores) => number,
    denominator: number,
  ) => (denominator === 0 ? 0 : scores.reduce((sum, s) => sum + pick(s) * weight(s), 0) / denominator);
  const average = (weight: (s: PerClassScores) => number, denominator: number): ClassScores => ({
    precision: mean((s) => s.precision, weight, denominator),
    recall: mean((s) => s.recall, weight, denominator),
    f1: mean((s) => s.f1, weight, denominator),
  });
  return {
    macro: average(() => 1, scores.length),
    weighted: average((s) => s.support, total),
  };
}

/** Running sums per confidence bin, filled example by example. */
export class CalibrationBins {
  readonly counts: Float64Array;
  readonly confidenceSums: Float64Array;
  readonly correct: Float64Array;

  constructor(readonly bins: number) {
    if (!Number.isInteger(bins) || bins < 1)
      throw new RangeError(`calibration bins must be a positive integer, got ${bins}`);
    this.counts = new Float64Array(bins);
    this.confidenceSums = new Float64Array(bins);
    this.correct = new Float64Array(bins);
  }

  add(confidence: number, isCorrect: boolean): void {
    const b = binIndex(confidence, this.bins);
    this.counts[b]! += 1;
    this.confidenceSums[b]! += confidence;
    if (isCorrect) this.correct[b]! += 1;
  }

  summary(): Calibration {
    const total = this.counts.reduce((sum, n) => sum + n, 0);
    let ece = 0;
    let mce = 0;
    const reliability: ReliabilityBin[] = [];
    for (let b = 0; b < this.bins; b += 1) {
      const count = this.counts[b]!;
      const confidence = count === 0 ? null : this.confidenceSums[b]! / count;
      const accuracy = count === 0 ? null : this.correct[b]! / count;
      if (confidence !== null && accuracy !== null) {
        const gap = Math.abs(accuracy - confidence);
        ece += (count / total) * gap;
        mce = Math.max(mce, gap);
      }
      reliability.push({ lower: b / this.bins, upper: (b + 1) / this.bins, count, confidence, accuracy });
    }
    return { definition: ECE_DEFINITION, bins: this.bins, ece, mce, reliability };
  }
}
