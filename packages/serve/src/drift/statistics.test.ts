import { createRandom } from '@tfmlops/core';
import { describe, expect, it } from 'vitest';
import {
  chiSquareTest,
  kolmogorovSurvival,
  ksTwoSample,
  mmdRbf,
  populationStabilityIndex,
} from './statistics.ts';

/** Seeded standard normals (Box-Muller). */
function normals(count: number, seed: number, shift = 0): number[] {
  const random = createRandom(seed);
  return Array.from(
    { length: count },
    () => shift + Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()),
  );
}

describe('drift statistics', () => {
  it('Kolmogorov tail matches the textbook critical values (alpha 0.05 at 1.358, 0.01 at 1.628)', () => {
    expect(kolmogorovSurvival(1.358)).toBeCloseTo(0.05, 3);
    expect(kolmogorovSurvival(1.628)).toBeCloseTo(0.01, 3);
    expect(kolmogorovSurvival(0)).toBe(1);
  });

  it('KS: D is the largest CDF gap; same distribution is not flagged, a half-sigma shift is', () => {
    expect(ksTwoSample([1, 2, 3, 4], [1, 2, 3, 4])).toEqual({ statistic: 0, pValue: 1 });
    // Disjoint samples: the CDFs differ by 1 between them.
    expect(ksTwoSample([1, 2, 3], [4, 5, 6]).statistic).toBe(1);
    expect(ksTwoSample([1, 2, 3, 4], [3, 4, 5, 6]).statistic).toBeCloseTo(0.5, 12);
    expect(ksTwoSample(normals(500, 1), normals(300, 2)).pValue).toBeGreaterThan(0.05);
    expect(ksTwoSample(normals(500, 1), normals(300, 2, 0.5)).pValue).toBeLessThan(1e-4);
  });

  it('PSI is 0 for identical bins and matches a hand computation', () => {
    expect(populationStabilityIndex([10, 20, 30], [1, 2, 3])).toBeCloseTo(0, 12);
    const expected = (0.25 - 0.5) * Math.log(0.25 / 0.5) + (0.75 - 0.5) * Math.log(0.75 / 0.5);
    expect(populationStabilityIndex([50, 50], [25, 75])).toBeCloseTo(expected, 12);
  });

  it('chi-square goodness of fit matches the published example (9.99 on 4 df, p 0.0406)', () => {
    const result = chiSquareTest([40, 20, 20, 15, 5], [89, 37, 30, 28, 2]);
    expect(result.df).toBe(4);
    expect(result.statistic).toBeCloseTo(9.9901, 3);
    expect(result.pValue).toBeCloseTo(0.0406, 3);
    expect(chiSquareTest([10, 10], [0, 0]).pValue).toBe(1);
  });

  it('MMD² is the unbiased estimate (checked against the textbook sums) with the median-distance bandwidth', () => {
    const xs = normals(40, 11).map((v, i) => [v, normals(40, 12)[i]!]);
    const ys = normals(30, 13, 0.5).map((v, i) => [v, normals(30, 14)[i]!]);
    const pooled = [...xs, ...ys];
    const distances: number[] = [];
    for (let i = 0; i < pooled.length; i += 1)
      for (let j = i + 1; j < pooled.length; j += 1)
        distances.push(Math.hypot(pooled[i]![0]! - pooled[j]![0]!, pooled[i]![1]! - pooled[j]![1]!));
    distances.sort((p, q) => p - q);
    const sigma = distances[Math.floor(distances.length / 2)]!;
    const kernel = (p: number[], q: number[]) =>
      Math.exp(-((p[0]! - q[0]!) ** 2 + (p[1]! - q[1]!) ** 2) / (2 * sigma ** 2));
    const mean = (left: number[][], right: number[][], same: boolean) => {
      let total = 0;
      let count = 0;
      left.forEach((p, i) => {
        right.forEach((q, j) => {
          if (same && i === j) return;
          total += kernel(p, q);
          count += 1;
        });
      });
      return total / count;
    };
    const expected = mean(xs, xs, true) + mean(ys, ys, true) - 2 * mean(xs, ys, false);
    const result = mmdRbf(xs, ys, { permutations: 50, seed: 1 });
    expect(result.bandwidth).toBeCloseTo(sigma, 12);
    expect(result.statistic).toBeCloseTo(expected, 12);
  });

  it('MMD with the median-heuristic RBF kernel: same distribution is not flagged, a shifted one is', () => {
    const points = (count: number, seed: number, shift = 0) => {
      const xs = normals(count * 4, seed, shift);
      return Array.from({ length: count }, (_, i) => xs.slice(i * 4, i * 4 + 4));
    };
    const same = mmdRbf(points(60, 1), points(60, 2), { permutations: 100, seed: 3 });
    expect(same.bandwidth).toBeGreaterThan(0);
    expect(same.pValue).toBeGreaterThan(0.05);
    const shifted = mmdRbf(points(60, 1), points(60, 2, 1), { permutations: 100, seed: 3 });
    expect(shifted.statistic).toBeGreaterThan(same.statistic);
    expect(shifted.pValue).toBeLessThan(0.02);
  });
});
