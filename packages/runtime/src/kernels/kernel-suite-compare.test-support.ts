/**
 * Test support: how the kernel suite (kernel-suite.test-support.ts) compares wasm with the cpu backend, and the
 * tolerances it holds them to, stated as max |wasm − cpu| / max |cpu| per output (maxErrorRelativeToLargest).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { maxErrorRelativeToLargest, valuesOn } from './gradient-check.ts';
import { kernelPathCounts, resetKernelPathCounts } from './kernel-paths.ts';

/** Keeps every item, or on a build that samples shapes only those `keep` accepts. */
export type Sample = <T>(items: readonly T[], keep: (item: T, index: number) => boolean) => T[];

/** Kernels: float32 results whose reductions run in another order than cpu's (observed: ≤ 1.3e-6). */
export const TOLERANCE = 1e-5;
/**
 * Reductions over k ≥ 40,000 terms accumulated in float32: the rounding error grows like √k·2⁻²⁴ of the largest
 * sum, ~1.2e-5 at k = 43,264 (observed: ≤ 9.1e-6 against a float64 reference); the bound leaves a 4x margin.
 */
export const LONG_REDUCTION_TOLERANCE = 4e-5;

export const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function expectClose(actual: Float32Array[], expected: Float32Array[], tolerance = TOLERANCE): void {
  expect(actual).toHaveLength(expected.length);
  for (const [i, values] of expected.entries())
    expect(maxErrorRelativeToLargest(actual[i]!, values), `output ${i}`).toBeLessThan(tolerance);
}

/** The paths one kernel took, as { path: count } (other kernels, e.g. Identity inside tf.grad, left out). */
export function pathsOf(paths: Record<string, number>, kernel: string): Record<string, number> {
  return Object.fromEntries(
    Object.entries(paths)
      .filter(([key]) => key.startsWith(`${kernel}:`))
      .map(([key, count]) => [key.slice(kernel.length + 1), count]),
  );
}

/** Runs f on cpu and on wasm, compares every output, and returns the kernel paths the wasm run took. */
export async function expectSameOnWasmAndCpu(f: () => tf.Tensor[], tolerance = TOLERANCE) {
  const expected = await valuesOn('cpu', f);
  resetKernelPathCounts();
  const actual = await valuesOn('wasm', f);
  const paths = kernelPathCounts();
  expectClose(actual, expected, tolerance);
  return paths;
}
