import type { ReferenceStatistics } from '@tfmlops/model';
import { z } from 'zod';
import { chiSquareTest, ksTwoSample, mmdRbf } from './statistics.ts';

/**
 * Drift thresholds and window. Defaults follow common practice:
 * - KS and chi-square: drift when p < 0.05 — Evidently's defaults for numerical (KS) and categorical (chi-square)
 *   columns when a window holds at most 1,000 objects.
 * - MMD: drift when the permutation p < 0.05 — alibi-detect's MMDDrift default `p_val=.05`, with its RBF kernel
 *   and median-heuristic bandwidth.
 * - Window: the last 500 live inputs, tested once 100 are in (below ~100, KS and chi-square have little power).
 * Each row's threshold is its level divided by the number of rows (Bonferroni, as alibi-detect corrects feature-wise
 * tests): with five or more features tested every few seconds, an uncorrected 0.05 per feature would raise a false
 * alarm on some feature in about one evaluation out of four; corrected, at most one in twenty.
 */
export const driftConfigSchema = z.strictObject({
  windowSize: z.number().int().min(10).max(100_000).default(500),
  minSamples: z.number().int().min(2).default(100),
  ksPValue: z.number().gt(0).lt(1).default(0.05),
  chiSquarePValue: z.number().gt(0).lt(1).default(0.05),
  mmdPValue: z.number().gt(0).lt(1).default(0.05),
  /** Permutations of the MMD test; its smallest possible p-value is 1 / (permutations + 1), below the threshold. */
  mmdPermutations: z.number().int().min(10).max(10_000).default(500),
  /** Embeddings per side in the MMD test (the reference keeps ~500); bounds its O(n²) cost. */
  mmdSamples: z.number().int().min(10).max(2_000).default(200),
});
export type DriftConfig = z.output<typeof driftConfigSchema>;

/** What the monitor keeps of one live input. */
export interface LiveSample {
  /** Per channel, pixel values in [0,1] of the preprocessed input. */
  mean: number[];
  std: number[];
  predictedIndex: number;
  confidence: number;
  embedding: number[] | null;
}

/**
 * One feature's test: `score` is the test's p-value, drift when `score < threshold` (the configured level divided by
 * the number of rows); null until the window holds `minSamples` inputs.
 */
export interface DriftRow {
  feature: string;
  test: 'ks' | 'chi-square' | 'mmd';
  score: number | null;
  /** The statistic behind the p-value (KS D, chi-square, MMD²), for plots and alerts that prefer effect sizes. */
  statistic: number | null;
  threshold: number;
  drifted: boolean;
  n: number;
}

/** Features the reference supports, in a stable order: the rows exist from the first request on. */
export function driftFeatures(reference: ReferenceStatistics): Array<Pick<DriftRow, 'feature' | 'test'>> {
  const features: Array<Pick<DriftRow, 'feature' | 'test'>> = [];
  reference.pixels.forEach((_, c) => {
    features.push({ feature: `pixel_mean_c${c}`, test: 'ks' }, { feature: `pixel_std_c${c}`, test: 'ks' });
  });
  features.push({ feature: 'predicted_class', test: 'chi-square' }, { feature: 'confidence', test: 'ks' });
  if (reference.embeddings) features.push({ feature: 'embedding', test: 'mmd' });
  return features;
}

/** Compares a window of live samples with the reference: one row per feature and test. */
export function evaluateDrift(
  reference: ReferenceStatistics,
  window: LiveSample[],
  config: DriftConfig,
  seed = 0,
): DriftRow[] {
  const n = window.length;
  const ready = n >= config.minSamples;
  const features = driftFeatures(reference);
  const thresholds = rowThresholds(config, features.length);
  return features.map(({ feature, test }) => {
    const threshold = thresholds[test];
    if (!ready) return { feature, test, score: null, statistic: null, threshold, drifted: false, n };
    const result = runTest(feature, reference, window, config, seed);
    return {
      feature,
      test,
      score: result.pValue,
      statistic: result.statistic,
      threshold,
      drifted: result.pValue < threshold,
      n,
    };
  });
}

/** Per-test significance levels after the Bonferroni correction over `rows` tests. */
export function rowThresholds(config: DriftConfig, rows: number): Record<DriftRow['test'], number> {
  const m = Math.max(1, rows);
  return { ks: config.ksPValue / m, 'chi-square': config.chiSquarePValue / m, mmd: config.mmdPValue / m };
}

function runTest(
  feature: string,
  reference: ReferenceStatistics,
  window: LiveSample[],
  config: DriftConfig,
  seed: number,
): { statistic: number; pValue: number } {
  const pixel = /^pixel_(mean|std)_c(\d+)$/.exec(feature);
  if (pixel) {
    const kind = pixel[1] as 'mean' | 'std';
    const channel = Number(pixel[2]);
    const referenceSample = reference.pixels[channel]?.[kind].sample ?? [];
    return ksTwoSample(
      referenceSample,
      window.map((sample) => sample[kind][channel] ?? 0),
    );
  }
  if (feature === 'predicted_class') {
    const observed = new Array<number>(reference.predictedClass.length).fill(0);
    for (const sample of window) observed[sample.predictedIndex] = (observed[sample.predictedIndex] ?? 0) + 1;
    return chiSquareTest(reference.predictedClass, observed);
  }
  if (feature === 'confidence')
    return ksTwoSample(
      reference.confidence.sample,
      window.map((sample) => sample.confidence),
    );
  const live = window
    .flatMap((sample) => (sample.embedding ? [sample.embedding] : []))
    .slice(-config.mmdSamples);
  const referenceEmbeddings = (reference.embeddings?.sample ?? []).slice(0, config.mmdSamples);
  return mmdRbf(referenceEmbeddings, live, { permutations: config.mmdPermutations, seed });
}
