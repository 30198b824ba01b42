import { createRandom } from '@tfmlops/data';
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
