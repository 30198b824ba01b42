import { z } from 'zod';

/**
 * Drift thresholds and window (a module of its own so the drift worker, which only needs the type, does not load
 * zod). Defaults follow common practice:
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
