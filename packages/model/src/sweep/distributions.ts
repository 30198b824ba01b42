import { normalCdf, normalPpf } from './normal.ts';

/** W&B's distributions with bounds (`min`/`max`); `*_values` take the bounds as values, the others as base-e exponents. */
export const BOUNDED_DISTRIBUTIONS = [
  'int_uniform',
  'uniform',
  'log_uniform',
  'log_uniform_values',
  'inv_log_uniform',
  'inv_log_uniform_values',
] as const;
export const QUANTIZED_BOUNDED_DISTRIBUTIONS = [
  'q_uniform',
  'q_log_uniform',
  'q_log_uniform_values',
] as const;
export const NORMAL_DISTRIBUTIONS = ['normal', 'log_normal'] as const;
export const QUANTIZED_NORMAL_DISTRIBUTIONS = ['q_normal', 'q_log_normal'] as const;
export const BETA_DISTRIBUTIONS = ['beta', 'q_beta'] as const;

/** One parameter of a sweep, as W&B's sweep schema defines it (defaults filled, `distribution` always explicit). */
export type ParameterSpec =
  | { distribution: 'constant'; value: unknown }
  | { distribution: 'categorical'; values: unknown[]; probabilities?: number[] }
  | { distribution: (typeof BOUNDED_DISTRIBUTIONS)[number]; min: number; max: number }
  | { distribution: (typeof QUANTIZED_BOUNDED_DISTRIBUTIONS)[number]; min: number; max: number; q: number }
  | { distribution: (typeof NORMAL_DISTRIBUTIONS)[number]; mu: number; sigma: number }
  | { distribution: (typeof QUANTIZED_NORMAL_DISTRIBUTIONS)[number]; mu: number; sigma: number; q: number }
  | { distribution: 'beta'; a: number; b: number }
  | { distribution: 'q_beta'; a: number; b: number; q: number };
export type DistributionName = ParameterSpec['distribution'];

/** A parameter by its dotted experiment-config path (`train.learningRate`). */
export interface SweepParameter {
  name: string;
  spec: ParameterSpec;
}

/** Distributions the local runner samples; W&B's beta family is parsed (the file stays valid) but only agents run it. */
export function isLocallySupported(spec: ParameterSpec): boolean {
  return spec.distribution !== 'beta' && spec.distribution !== 'q_beta';
}

/**
 * The value at quantile `u` in [0, 1] (W&B's `ppf`): what random search draws with `u` uniform and what Bayesian
 * search maps its unit-cube suggestions back through.
 */
export function quantile(spec: ParameterSpec, u: number): unknown {
  switch (spec.distribution) {
    case 'constant':
      return spec.value;
    case 'categorical': {
      if (spec.probabilities) {
        let cumulative = 0;
        for (const [i, p] of spec.probabilities.entries()) {
          cumulative += p;
          if (u <= cumulative) return spec.values[i];
        }
        return spec.values[spec.values.length - 1];
      }
      // scipy's randint quantile, as W&B uses it: the CDF of value i is (i + 1) / n, and maps back to i.
      return spec.values[
        Math.min(spec.values.length - 1, Math.max(0, Math.ceil(u * spec.values.length) - 1))
      ];
    }
    case 'int_uniform':
      return Math.min(spec.max, Math.max(spec.min, spec.min - 1 + Math.ceil(u * (spec.max - spec.min + 1))));
    case 'uniform':
      return spec.min + u * (spec.max - spec.min);
    case 'q_uniform':
      return quantize(spec.min + u * (spec.max - spec.min), spec.q);
    case 'log_uniform':
      return Math.exp(spec.min + u * (spec.max - spec.min));
    case 'log_uniform_values':
      return Math.exp(Math.log(spec.min) + u * (Math.log(spec.max) - Math.log(spec.min)));
    case 'q_log_uniform':
      return quantize(Math.exp(spec.min + u * (spec.max - spec.min)), spec.q);
    case 'q_log_uniform_values':
      return quantize(Math.exp(Math.log(spec.min) + u * (Math.log(spec.max) - Math.log(spec.min))), spec.q);
    case 'inv_log_uniform':
      return Math.exp(-(spec.min + (1 - u) * (spec.max - spec.min)));
    case 'inv_log_uniform_values': {
      const low = -Math.log(spec.max);
      const high = -Math.log(spec.min);
      return Math.exp(-(low + (1 - u) * (high - low)));
    }
    case 'normal':
      return spec.mu + spec.sigma * normalPpf(clampOpen(u));
    case 'q_normal':
      return quantize(spec.mu + spec.sigma * normalPpf(clampOpen(u)), spec.q);
    case 'log_normal':
      return Math.exp(spec.mu + spec.sigma * normalPpf(clampOpen(u)));
    case 'q_log_normal':
      return quantize(Math.exp(spec.mu + spec.sigma * normalPpf(clampOpen(u))), spec.q);
    case 'beta':
    case 'q_beta':
      throw new Error(`${spec.distribution} is not sampled locally`);
  }
}

/**
 * Where a value sits in its distribution, in [0, 1] (W&B's `cdf`; categoricals by their index, as W&B's
 * `randint` CDF). Bayesian search fits its model on these coordinates.
 */
export function cumulative(spec: ParameterSpec, value: unknown): number {
  switch (spec.distribution) {
    case 'constant':
      return 0;
    case 'categorical': {
      const index = spec.values.findIndex((candidate) => sameValue(candidate, value));
      if (index < 0) return Number.NaN;
      if (spec.probabilities) return spec.probabilities.slice(0, index + 1).reduce((a, b) => a + b, 0);
      return (index + 1) / spec.values.length;
    }
    case 'int_uniform':
      return clamp01((Math.floor(Number(value)) - spec.min + 1) / (spec.max - spec.min + 1));
    case 'uniform':
    case 'q_uniform':
      return clamp01((Number(value) - spec.min) / (spec.max - spec.min));
    case 'log_uniform':
    case 'q_log_uniform':
      return clamp01((Math.log(Number(value)) - spec.min) / (spec.max - spec.min));
    case 'log_uniform_values':
    case 'q_log_uniform_values':
      return clamp01(
        (Math.log(Number(value)) - Math.log(spec.min)) / (Math.log(spec.max) - Math.log(spec.min)),
      );
    case 'inv_log_uniform':
      return clamp01(1 - (-Math.log(Number(value)) - spec.min) / (spec.max - spec.min));
    case 'inv_log_uniform_values': {
      const low = -Math.log(spec.max);
      const high = -Math.log(spec.min);
      return clamp01(1 - (-Math.log(Number(value)) - low) / (high - low));
    }
    case 'normal':
    case 'q_normal':
      return normalCdf((Number(value) - spec.mu) / spec.sigma);
    case 'log_normal':
    case 'q_log_normal':
      return normalCdf((Math.log(Number(value)) - spec.mu) / spec.sigma);
    case 'beta':
    case 'q_beta':
      throw new Error(`${spec.distribution} is not sampled locally`);
  }
}

/**
 * The values a grid takes for a parameter, as W&B's grid search does: categorical values (duplicates once), a
 * constant, every integer of an `int_uniform` (both ends included), `q_uniform` as NumPy's `arange(min, max, q)` (max
 * excluded). Any other distribution has no grid: undefined.
 */
export function gridValues(spec: ParameterSpec): unknown[] | undefined {
  switch (spec.distribution) {
    case 'constant':
      return [spec.value];
    case 'categorical':
      if (spec.probabilities) return undefined;
      return uniqueValues(spec.values);
    case 'int_uniform':
      return Array.from({ length: spec.max - spec.min + 1 }, (_, i) => spec.min + i);
    case 'q_uniform': {
      const count = Math.max(0, Math.ceil((spec.max - spec.min) / spec.q));
      return Array.from({ length: count }, (_, i) => spec.min + i * spec.q);
    }
    default:
      return undefined;
  }
}

/** Points to check a distribution's values against the experiment schema before anything runs. */
export function probeValues(spec: ParameterSpec): unknown[] {
  const grid = gridValues(spec);
  if (grid) return grid;
  if (spec.distribution === 'categorical') return uniqueValues(spec.values);
  if (!isLocallySupported(spec)) return [];
  // Both ends, and interior quantiles that are not round numbers (an integer key must refuse a continuous range).
  return uniqueValues([0, 0.01, 0.137, 0.5, 0.861, 0.99, 1].map((u) => quantile(spec, u)));
}

/** W&B rounds to a multiple of q, and an integer q gives integers. */
function quantize(value: number, q: number): number {
  const rounded = Math.round(value / q) * q;
  return Number.isInteger(q) ? Math.round(rounded) : rounded;
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}

/** The normal quantile is infinite at 0 and 1; draws stay inside. */
function clampOpen(u: number): number {
  return Math.min(1 - 1e-12, Math.max(1e-12, u));
}

export function sameValue(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** JSON with sorted keys: equal values, equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

function uniqueValues(values: readonly unknown[]): unknown[] {
  const seen = new Set<string>();
  return values.filter((value) => {
    const key = canonicalJson(value);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
