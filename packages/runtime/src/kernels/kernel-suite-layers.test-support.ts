/**
 * Test support: the kernel suite's (kernel-suite.test-support.ts) layer kernels besides convolution: max pool
 * gradient (and its ties, -Infinity and NaN), sum, matmul and its gradients, and the cpu fallbacks (depthwise
 * convolution, gather), each against the cpu backend and, where it has several, on the path it names.
 */
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { seededValues, valuesOn } from './gradient-check.ts';
import type { Shape4 } from './kernel-cases.test-support.ts';
import { kernelPathCounts, resetKernelPathCounts } from './kernel-paths.ts';
import { expectSameOnWasmAndCpu, pathsOf, size } from './kernel-suite-compare.test-support.ts';

/** Adds the max pool, sum, matmul, depthwise and gather tests to the current describe. */
export function addLayerKernelTests(): void {
  it.each([
    { x: [2, 8, 8, 3], size: 2, stride: 2, pad: 'valid' as const, path: 'js-2x2' },
    { x: [2, 9, 7, 3], size: 2, stride: 2, pad: 'valid' as const, path: 'js-2x2' },
    { x: [2, 9, 7, 8], size: 2, stride: 2, pad: 'valid' as const, path: 'simd-2x2' },
    { x: [3, 6, 6, 4], size: 2, stride: 2, pad: 'same' as const, path: 'simd-2x2' },
    { x: [1, 9, 9, 2], size: 3, stride: 2, pad: 'same' as const, path: 'any-window' },
    { x: [2, 7, 5, 4], size: 3, stride: 1, pad: 'same' as const, path: 'any-window' },
  ])('max pool gradient ($path): x=$x size=$size stride=$stride pad=$pad', async (c) => {
    const xValues = seededValues(size(c.x), 4);
    const paths = await expectSameOnWasmAndCpu(() => {
      const x = tf.tensor4d(xValues, c.x as Shape4);
      const pool = (a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, c.size, c.stride, c.pad);
      const out = pool(x);
      return [out, tf.grad(pool)(x, tf.tensor(seededValues(out.size, 5), out.shape))];
    });
    expect(pathsOf(paths, 'MaxPoolGrad')).toEqual({ [c.path]: 1 });
  });

  it.each([
    { channels: 1, path: 'js-2x2' },
    { channels: 4, path: 'simd-2x2' },
    { channels: 8, path: 'simd-2x2' },
  ])(
    'max pool gradient ($path) follows the cpu backend on ties, -Infinity and NaN ($channels channels)',
    async ({ channels, path }) => {
      const pattern = [1, 1, 1, 1, 2, 5, 5, 0, -Infinity, -Infinity, 3, 3, Number.NaN, 4, 4, 0];
      // Each channel gets the pattern shifted, so every window case lands in every SIMD lane.
      const values = Array.from({ length: 16 * channels }, (_, i) => {
        const [position, channel] = [Math.floor(i / channels), i % channels];
        return pattern[(position + channel * 5) % 16]!;
      });
      const paths = await expectSameOnWasmAndCpu(() => {
        const x = tf.tensor4d(values, [1, 4, 4, channels]);
        const pool = (a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid');
        return [tf.grad(pool)(x, tf.tensor4d(seededValues(4 * channels, 22), [1, 2, 2, channels]))];
      });
      expect(pathsOf(paths, 'MaxPoolGrad')).toEqual({ [path]: 1 });
    },
  );

  it.each([
    { shape: [64, 5, 5, 16], axes: [0, 1, 2], keepDims: false, path: 'leading-axes' },
    { shape: [300, 7], axes: [0], keepDims: true, path: 'leading-axes' },
    { shape: [4, 6, 3], axes: [0, 1], keepDims: false, path: 'leading-axes' },
    { shape: [4, 6, 3], axes: [2], keepDims: false, path: 'stock' },
    { shape: [4, 6, 3], axes: [0, 1, 2], keepDims: false, path: 'stock' },
  ])('sum over axes $axes of $shape ($path)', async (c) => {
    const values = seededValues(size(c.shape), 21);
    const paths = await expectSameOnWasmAndCpu(() => [
      tf.sum(tf.tensor(values, c.shape), c.axes, c.keepDims),
    ]);
    expect(pathsOf(paths, 'Sum')).toEqual({ [c.path]: 1 });
  });

  it.each([
    { a: [5, 7], b: [7, 3], ta: false, tb: false, path: 'direct' },
    { a: [7, 5], b: [7, 3], ta: true, tb: false, path: 'direct' },
    { a: [5, 7], b: [3, 7], ta: false, tb: true, path: 'direct' },
    { a: [2, 7, 5], b: [2, 3, 7], ta: true, tb: true, path: 'batched' },
    { a: [4, 6, 8], b: [4, 8, 6], ta: false, tb: false, path: 'batched' },
    // Small left operands take the Cᵀ = Bᵀ·Aᵀ route (packing A instead of B)
    { a: [3, 16], b: [16, 40], ta: false, tb: false, path: 'swapped' },
    { a: [3, 16], b: [40, 16], ta: false, tb: true, path: 'swapped' },
    { a: [16, 3], b: [16, 40], ta: true, tb: false, path: 'swapped' },
    { a: [1, 2, 16], b: [1, 40, 16], ta: false, tb: true, path: 'swapped' },
  ])('matmul ($path) and its gradients: a=$a b=$b transposeA=$ta transposeB=$tb', async (c) => {
    const aValues = seededValues(size(c.a), 6);
    const bValues = seededValues(size(c.b), 7);
    const product = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, c.ta, c.tb);
    resetKernelPathCounts();
    await valuesOn('wasm', () => [product(tf.tensor(aValues, c.a), tf.tensor(bValues, c.b))]);
    expect(pathsOf(kernelPathCounts(), 'BatchMatMul')).toEqual({ [c.path]: 1 });
    await expectSameOnWasmAndCpu(() => {
      const [a, b] = [tf.tensor(aValues, c.a), tf.tensor(bValues, c.b)];
      const out = product(a, b);
      const [da, db] = tf.grads(product)([a, b], tf.tensor(seededValues(out.size, 8), out.shape));
      return [out, da!, db!];
    });
  });

  it.each([
    { x: [2, 7, 7, 3], f: [3, 3, 3, 2], stride: 1, pad: 'same' as const },
    { x: [1, 8, 8, 2], f: [3, 3, 2, 1], stride: 2, pad: 'valid' as const },
  ])('depthwise conv2d gradients (cpu fallback kernels): x=$x f=$f stride=$stride pad=$pad', async (c) => {
    const xValues = seededValues(size(c.x), 9);
    const fValues = seededValues(size(c.f), 10);
    await expectSameOnWasmAndCpu(() => {
      const conv = (a: tf.Tensor, b: tf.Tensor) =>
        tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad);
      const [x, filter] = [tf.tensor4d(xValues, c.x as Shape4), tf.tensor4d(fValues, c.f as Shape4)];
      const out = conv(x, filter);
      const [dx, dFilter] = tf.grads(conv)([x, filter], tf.tensor(seededValues(out.size, 11), out.shape));
      return [out, dx!, dFilter!];
    });
  });

  it('gather gradient (unsorted segment sum, cpu fallback kernel)', async () => {
    await expectSameOnWasmAndCpu(() => {
      const table = tf.tensor2d(seededValues(12, 12), [4, 3]);
      const indices = tf.tensor1d([3, 0, 3, 1], 'int32');
      const gather = (t: tf.Tensor) => tf.gather(t, indices);
      return [tf.grad(gather)(table, tf.tensor2d(seededValues(12, 13), [4, 3]))];
    });
  });
}
