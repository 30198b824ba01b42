import jstatModule from 'jstat';

const { jStat } = jstatModule as unknown as typeof import('jstat');

/**
 * The two-sample tests drift monitoring compares live traffic with a bundle's reference with. Pure functions over
 * plain arrays, so the server (off the request path) and the offline report compute the very same numbers.
 */

export interface TestResult {
  statistic: number;
  /** Probability of a statistic at least this large if both samples came from one distribution. */
  pValue: number;
}

/**
 * Two-sample Kolmogorov-Smirnov test: D = the largest distance between the two empirical CDFs; the p-value from the
 * asymptotic Kolmogorov distribution with Stephens' small-sample correction (Numerical Recipes, `kstwo`).
 */
export function ksTwoSample(a: readonly number[], b: readonly number[]): TestResult {
  if (a.length === 0 || b.length === 0) return { statistic: 0, pValue: 1 };
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const value = Math.min(x[i] as number, y[j] as number);
    while (i < x.length && (x[i] as number) <= value) i += 1;
    while (j < y.length && (y[j] as number) <= value) j += 1;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  const effective = Math.sqrt((x.length * y.length) / (x.length + y.length));
  return { statistic: d, pValue: kolmogorovSurvival((effective + 0.12 + 0.11 / effective) * d) };
}

/** Q_KS(λ) = 2 Σ_{k≥1} (-1)^{k-1} exp(-2 k² λ²): the Kolmogorov distribution's upper tail. */
export function kolmogorovSurvival(lambda: number): number {
  if (lambda < 1e-3) return 1;
  let sum = 0;
  let sign = 1;
  for (let k = 1; k <= 100; k += 1) {
    const term = sign * Math.exp(-2 * k * k * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-12 * Math.abs(sum)) break;
    sign = -sign;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/**
 * Population stability index over the same bins: Σ (c - r) ln(c / r) with both as proportions. Empty bins get
 * `epsilon` so one empty bin does not make it infinite (the usual practice).
 */
export function populationStabilityIndex(
  reference: readonly number[],
  current: readonly number[],
  epsilon = 1e-4,
): number {
  const referenceTotal = sum(reference);
  const currentTotal = sum(current);
  if (referenceTotal === 0 || currentTotal === 0) return 0;
  let psi = 0;
  reference.forEach((count, bin) => {
    const r = Math.max(epsilon, count / referenceTotal);
    const c = Math.max(epsilon, (current[bin] ?? 0) / currentTotal);
    psi += (c - r) * Math.log(c / r);
  });
  return psi;
}

/**
 * Chi-square goodness of fit of observed class counts against the reference's class proportions. Categories the
 * reference never saw get a small expected share (`epsilon`), so a brand-new class counts as drift instead of a
 * division by zero. Degrees of freedom: categories - 1.
 */
export function chiSquareTest(
  reference: readonly number[],
  observed: readonly number[],
  epsilon = 1e-4,
): TestResult & { df: number } {
  const referenceTotal = sum(reference);
  const n = sum(observed);
  const df = reference.length - 1;
  if (referenceTotal === 0 || n === 0 || df < 1) return { statistic: 0, pValue: 1, df: Math.max(0, df) };
  const shares = reference.map((count) => Math.max(epsilon, count / referenceTotal));
  const total = sum(shares);
  let statistic = 0;
  shares.forEach((share, k) => {
    const expected = (share / total) * n;
    statistic += ((observed[k] ?? 0) - expected) ** 2 / expected;
  });
  return { statistic, df, pValue: 1 - jStat.chisquare.cdf(statistic, df) };
}

export interface MmdResult extends TestResult {
  /** The RBF bandwidth used: the median pairwise distance of the pooled samples (the median heuristic). */
  bandwidth: number;
}

/**
 * Maximum mean discrepancy between two sets of vectors with an RBF kernel exp(-|a-b|² / (2σ²)), σ by the median
 * heuristic, and a permutation p-value (the share of random relabellings with an MMD² at least as large), as
 * alibi-detect's MMDDrift computes it. The kernel matrix is computed once; permutations only re-sum it.
 */
export function mmdRbf(
  a: readonly number[][],
  b: readonly number[][],
  options: { permutations?: number; seed?: number } = {},
): MmdResult {
  const pooled = [...a, ...b];
  const n = pooled.length;
  const m = a.length;
  const k = b.length;
  if (m < 2 || k < 2) return { statistic: 0, pValue: 1, bandwidth: 0 };
  const kernel = new Float64Array(n * n);
  const distances = new Float64Array((n * (n - 1)) / 2);
  for (let i = 0, pair = 0; i < n; i += 1) {
    for (let j = i + 1; j < n; j += 1, pair += 1) {
      const d2 = squaredDistance(pooled[i] as number[], pooled[j] as number[]);
      kernel[i * n + j] = d2;
      kernel[j * n + i] = d2;
      distances[pair] = Math.sqrt(d2);
    }
  }
  distances.sort();
  const bandwidth = Math.max(1e-12, distances[Math.floor(distances.length / 2)] as number);
  // The kernel with a zero diagonal (the unbiased estimate leaves out i = j), its row sums and its total over pairs.
  const rowSums = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i += 1) {
    for (let j = 0; j < n; j += 1) {
      const value = i === j ? 0 : Math.exp(-(kernel[i * n + j] as number) / (2 * bandwidth * bandwidth));
      kernel[i * n + j] = value;
      rowSums[i] = (rowSums[i] as number) + value;
    }
    total += rowSums[i] as number;
  }
  total /= 2;
  // The first m entries of `order` are the rows taken as the first sample.
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const statistic = mmdSquared(kernel, n, order, m, k, rowSums, total);
  const permutations = options.permutations ?? 100;
  const random = seededRandom(options.seed ?? 0);
  let atLeast = 0;
  for (let p = 0; p < permutations; p += 1) {
    // A uniformly random split: a partial Fisher-Yates shuffle of the first m positions.
    for (let x = 0; x < m; x += 1) {
      const y = x + Math.floor(random() * (n - x));
      const swap = order[x] as number;
      order[x] = order[y] as number;
      order[y] = swap;
    }
    if (mmdSquared(kernel, n, order, m, k, rowSums, total) >= statistic) atLeast += 1;
  }
  return { statistic, pValue: (atLeast + 1) / (permutations + 1), bandwidth };
}

/**
 * Unbiased MMD² of the split "rows order[0..m) vs the rest" of a kernel matrix with a zero diagonal. Only the
 * within-first-sample sum is summed (m² / 2 terms); the other two follow from the row sums and the total:
 * Σ_{i∈X} rowSum_i = 2·S_xx + S_xy and total = S_xx + S_yy + S_xy. This is what makes 500 permutations cheap.
 */
function mmdSquared(
  kernel: Float64Array,
  n: number,
  order: Int32Array,
  m: number,
  k: number,
  rowSums: Float64Array,
  total: number,
): number {
  let xx = 0;
  let rows = 0;
  for (let x = 0; x < m; x += 1) {
    const i = order[x] as number;
    rows += rowSums[i] as number;
    const row = i * n;
    for (let y = x + 1; y < m; y += 1) xx += kernel[row + (order[y] as number)] as number;
  }
  const xy = rows - 2 * xx;
  const yy = total - xx - xy;
  return (2 * xx) / (m * (m - 1)) + (2 * yy) / (k * (k - 1)) - (2 * xy) / (m * k);
}

function squaredDistance(a: number[], b: number[]): number {
  let total = 0;
  for (let i = 0; i < a.length; i += 1) total += ((a[i] as number) - (b[i] as number)) ** 2;
  return total;
}

/**
 * mulberry32, the same generator as core's `createRandom`. Kept here, three lines, so the drift worker
 * imports neither the data package nor what it loads (TF.js, sharp): with it, starting the worker took ~2 s and
 * ~110 MB; without it, a few tens of milliseconds.
 */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
