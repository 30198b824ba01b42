import { normalCdf, normalPdf } from './normal.ts';

/**
 * A small Gaussian process on the unit cube, the surrogate W&B's Bayesian search uses (wandb/sweeps bayes_search.py:
 * Matérn ν = 3/2 kernel, a 1e-7 nugget, targets normalised to zero mean and unit variance). The length scale is the
 * maximum of the log marginal likelihood over a fixed log grid, so a fit is deterministic (sklearn restarts an
 * optimizer from random points instead). Sizes stay small (a sweep has tens of trials), so plain Cholesky is enough.
 */

const NUGGET = 1e-7;
const STD_EPSILON = 1e-6;
/** Candidate length scales: 40 steps from 0.01 to 10 (inputs live in [0, 1]). */
const LENGTH_SCALES = Array.from({ length: 40 }, (_, i) => 10 ** (-2 + (3 * i) / 39));

export interface GaussianProcess {
  lengthScale: number;
  /** Posterior mean and standard deviation at x, in the units of the y the process was fitted on. */
  predict(x: readonly number[]): { mean: number; std: number };
}

export function maternKernel(a: readonly number[], b: readonly number[], lengthScale: number): number {
  let squared = 0;
  for (let i = 0; i < a.length; i += 1) squared += (a[i]! - b[i]!) ** 2;
  const scaled = (Math.sqrt(3) * Math.sqrt(squared)) / lengthScale;
  return (1 + scaled) * Math.exp(-scaled);
}

/** Fits a GP to (xs, ys); with one point the prior variance is 1 (as W&B does). */
export function fitGaussianProcess(
  xs: ReadonlyArray<readonly number[]>,
  ys: readonly number[],
): GaussianProcess {
  if (xs.length === 0) throw new Error('a Gaussian process needs at least one observation');
  const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
  const std =
    ys.length === 1 ? 1 : Math.sqrt(ys.reduce((a, y) => a + (y - mean) ** 2, 0) / ys.length) + STD_EPSILON;
  const normalised = ys.map((y) => (y - mean) / std);
  let best:
    | { lengthScale: number; logLikelihood: number; chol: Float64Array[]; alpha: Float64Array }
    | undefined;
  for (const lengthScale of LENGTH_SCALES) {
    const chol = cholesky(covariance(xs, lengthScale));
    if (!chol) continue;
    const alpha = choleskySolve(chol, normalised);
    let logLikelihood = -0.5 * normalised.reduce((a, y, i) => a + y * alpha[i]!, 0);
    for (let i = 0; i < chol.length; i += 1) logLikelihood -= Math.log(chol[i]![i]!);
    if (!best || logLikelihood > best.logLikelihood) best = { lengthScale, logLikelihood, chol, alpha };
  }
  if (!best) throw new Error('no length scale gives a positive-definite covariance');
  const { lengthScale, chol, alpha } = best;
  return {
    lengthScale,
    predict(x) {
      const k = xs.map((xi) => maternKernel(xi, x, lengthScale));
      const meanNorm = k.reduce((a, ki, i) => a + ki * alpha[i]!, 0);
      const v = forwardSubstitute(chol, k);
      const variance = Math.max(0, 1 + NUGGET - v.reduce((a, vi) => a + vi * vi, 0));
      return { mean: meanNorm * std + mean, std: Math.sqrt(variance) * std };
    },
  };
}

/** Expected improvement below `best` for a minimisation, at a prediction (mean, std). */
export function expectedImprovement(mean: number, std: number, best: number): number {
  const z = (best - mean) / (std + STD_EPSILON);
  return (best - mean) * normalCdf(z) + std * normalPdf(z);
}

function covariance(xs: ReadonlyArray<readonly number[]>, lengthScale: number): Float64Array[] {
  return xs.map((a, i) => {
    const row = new Float64Array(xs.length);
    for (let j = 0; j < xs.length; j += 1)
      row[j] = maternKernel(a, xs[j]!, lengthScale) + (i === j ? NUGGET : 0);
    return row;
  });
}

function cholesky(matrix: Float64Array[]): Float64Array[] | undefined {
  const n = matrix.length;
  const lower = Array.from({ length: n }, () => new Float64Array(n));
  for (let i = 0; i < n; i += 1) {
    for (let j = 0; j <= i; j += 1) {
      let sum = matrix[i]![j]!;
      for (let k = 0; k < j; k += 1) sum -= lower[i]![k]! * lower[j]![k]!;
      if (i === j) {
        if (sum <= 0) return undefined;
        lower[i]![i] = Math.sqrt(sum);
      } else lower[i]![j] = sum / lower[j]![j]!;
    }
  }
  return lower;
}

function forwardSubstitute(lower: Float64Array[], b: readonly number[]): Float64Array {
  const y = new Float64Array(b.length);
  for (let i = 0; i < b.length; i += 1) {
    let sum = b[i]!;
    for (let k = 0; k < i; k += 1) sum -= lower[i]![k]! * y[k]!;
    y[i] = sum / lower[i]![i]!;
  }
  return y;
}

function choleskySolve(lower: Float64Array[], b: readonly number[]): Float64Array {
  const y = forwardSubstitute(lower, b);
  const n = b.length;
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i -= 1) {
    let sum = y[i]!;
    for (let k = i + 1; k < n; k += 1) sum -= lower[k]![i]! * x[k]!;
    x[i] = sum / lower[i]![i]!;
  }
  return x;
}
