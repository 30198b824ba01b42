import * as tf from '@tensorflow/tfjs-core';

/**
 * Runs `f` on each backend with the same inputs and returns the values of every output, so a kernel can be checked
 * against the cpu backend (tfjs's reference implementation). Test support for kernel tests.
 */
export async function valuesOn(backend: string, f: () => tf.Tensor[]): Promise<Float32Array[]> {
  const previous = tf.getBackend();
  await tf.setBackend(backend);
  try {
    const outputs = tf.tidy(f);
    const values = await Promise.all(outputs.map(async (t) => (await t.data()) as Float32Array));
    tf.dispose(outputs);
    return values;
  } finally {
    await tf.setBackend(previous);
  }
}

/**
 * Largest |a-b| / max(1, |b|) over all elements: the relative error where |b| > 1 and the absolute error below.
 * (Not a relative error for small values: for tensors of small values prefer {@link maxErrorRelativeToLargest}.)
 */
export function maxRelativeError(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let i = 0; i < actual.length; i += 1) {
    const error = Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!));
    if (!(error <= worst)) worst = Number.isNaN(error) ? Number.POSITIVE_INFINITY : error;
  }
  return worst;
}

/** Deterministic pseudo-random values in [-1, 1) so both backends see identical inputs. */
export function seededValues(size: number, seed: number): Float32Array {
  const values = new Float32Array(size);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 1) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    values[i] = ((state >>> 0) / 0x100000000) * 2 - 1;
  }
  return values;
}

/**
 * max |a - b| / max |b| over all elements (the ∞-norm relative error): every element's error measured against the
 * tensor's largest reference value, so it is meaningful for tensors of any scale and for elements near zero, where an
 * element-wise relative error explodes. This is the metric the kernel and whole-model gradient tests state.
 */
export function maxErrorRelativeToLargest(actual: Float32Array, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let error = 0;
  let largest = 0;
  for (let i = 0; i < actual.length; i += 1) {
    const difference = Math.abs(actual[i]! - expected[i]!);
    if (!(difference <= error)) error = Number.isNaN(difference) ? Number.POSITIVE_INFINITY : difference;
    largest = Math.max(largest, Math.abs(expected[i]!));
  }
  return error === 0 ? 0 : error / largest;
}
