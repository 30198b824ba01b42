import { describe, expect, it } from 'vitest';
import { averageScores, binIndex, CalibrationBins, classScores } from './metrics.ts';

describe('classScores', () => {
  it('computes precision, recall, F1 and support per class from the confusion matrix, zero division as 0', () => {
    // true a: 3 right, 1 predicted b; true b: 2 right; true c: 1 predicted a, never predicted c itself.
    const confusion = [
      [3, 1, 0],
      [0, 2, 0],
      [1, 0, 0],
    ];
    const scores = classScores(confusion, ['a', 'b', 'c']);
    expect(scores[0]).toMatchObject({ class: 'a', support: 4, precision: 3 / 4, recall: 3 / 4 });
    expect(scores[0]!.f1).toBeCloseTo(0.75, 12);
    expect(scores[1]).toMatchObject({ class: 'b', support: 2, precision: 2 / 3, recall: 1 });
    expect(scores[1]!.f1).toBeCloseTo((2 * (2 / 3) * 1) / (2 / 3 + 1), 12);
    expect(scores[2]).toEqual({ class: 'c', support: 1, precision: 0, recall: 0, f1: 0 });
    const { macro, weighted } = averageScores(scores);
    expect(macro.precision).toBeCloseTo((3 / 4 + 2 / 3 + 0) / 3, 12);
    expect(weighted.recall).toBeCloseTo((4 * (3 / 4) + 2 * 1 + 0) / 7, 12);
    // Weighted recall is accuracy, as in scikit-learn.
    expect(weighted.recall).toBeCloseTo(5 / 7, 12);
  });
});

describe('calibration bins', () => {
  it('puts a confidence in the (lower, upper] bin, 0 in the first and 1 in the last', () => {
    expect(binIndex(0, 15)).toBe(0);
    expect(binIndex(1 / 15, 15)).toBe(0);
    expect(binIndex(1 / 15 + 1e-9, 15)).toBe(1);
    expect(binIndex(0.999, 15)).toBe(14);
    expect(binIndex(1, 15)).toBe(14);
  });

  it('computes ECE as the count-weighted mean |accuracy - confidence| and MCE as the largest gap', () => {
    const bins = new CalibrationBins(10);
    // Bin (0.5, 0.6]: confidences 0.55, 0.55, one right -> accuracy 0.5, gap 0.05.
    bins.add(0.55, true);
    bins.add(0.55, false);
    // Bin (0.9, 1.0]: 0.95 x2, both right -> gap 0.05; 1.0 right -> bin mean conf 0.9667, acc 1, gap 0.0333.
    bins.add(0.95, true);
    bins.add(0.95, true);
    bins.add(1.0, true);
    const summary = bins.summary();
    const topConfidence = (0.95 + 0.95 + 1) / 3;
    expect(summary.ece).toBeCloseTo((2 / 5) * 0.05 + (3 / 5) * (1 - topConfidence), 12);
    expect(summary.mce).toBeCloseTo(0.05, 12);
    expect(summary.reliability).toHaveLength(10);
    expect(summary.reliability[5]).toMatchObject({ lower: 0.5, upper: 0.6, count: 2, accuracy: 0.5 });
    expect(summary.reliability[0]).toMatchObject({ count: 0, accuracy: null, confidence: null });
    expect(summary.definition).toMatch(/equal-width bins/);
  });
});
