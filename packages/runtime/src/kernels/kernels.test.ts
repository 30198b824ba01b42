import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { forceFilterGradientMethod } from './conv2d-backprop-filter.ts';
import { forceInputGradientMethod } from './conv2d-backprop-input.ts';
import { maxRelativeError, seededValues, valuesOn } from './gradient-check.ts';
import { registerWasmTrainingKernels } from './index.ts';

const TOLERANCE = 1e-4;

beforeAll(async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  await tf.ready();
});

async function expectSameOnWasmAndCpu(f: () => tf.Tensor[]) {
  const expected = await valuesOn('cpu', f);
  const actual = await valuesOn('wasm', f);
  for (const [i, values] of expected.entries()) {
    expect(maxRelativeError(actual[i]!, values)).toBeLessThan(TOLERANCE);
  }
}

type Pad = 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];
const CONV_CASES: Array<{
  x: [number, number, number, number];
  f: [number, number, number, number];
  stride: number;
  pad: Pad;
  dilation: number;
}> = [
  { x: [2, 9, 9, 3], f: [3, 3, 3, 4], stride: 1, pad: 'valid', dilation: 1 },
  { x: [2, 9, 9, 3], f: [3, 3, 3, 4], stride: 1, pad: 'same', dilation: 1 },
  { x: [3, 10, 8, 2], f: [3, 3, 2, 5], stride: 2, pad: 'same', dilation: 1 },
  { x: [1, 11, 11, 4], f: [5, 3, 4, 2], stride: 2, pad: 'valid', dilation: 1 },
  { x: [2, 8, 8, 3], f: [4, 4, 3, 6], stride: 4, pad: 'valid', dilation: 1 },
  {
    x: [1, 7, 9, 2],
    f: [3, 2, 2, 3],
    stride: 1,
    pad: [
      [0, 0],
      [1, 2],
      [2, 0],
      [0, 0],
    ],
    dilation: 1,
  },
  { x: [1, 6, 6, 1], f: [1, 1, 1, 8], stride: 1, pad: 'valid', dilation: 1 },
  // The last input row and column are never read: the convolution form must crop them.
  { x: [2, 10, 10, 3], f: [3, 3, 3, 4], stride: 2, pad: 'valid', dilation: 1 },
  { x: [2, 9, 9, 3], f: [3, 3, 3, 4], stride: 1, pad: 'same', dilation: 2 },
  { x: [3, 12, 12, 1], f: [3, 3, 1, 32], stride: 1, pad: 'valid', dilation: 1 },
  { x: [2, 9, 9, 3], f: [3, 3, 3, 16], stride: 2, pad: 'same', dilation: 1 },
];

afterEach(() => {
  forceFilterGradientMethod(undefined);
  forceInputGradientMethod(undefined);
});

describe('wasm training kernels match the cpu backend', () => {
  it.each(
    CONV_CASES.flatMap((c) => [
      { ...c, method: 'convolution' as const, input: 'convolution' as const },
      { ...c, method: 'patch-columns' as const, input: 'col2im' as const },
      { ...c, method: 'patch-rows' as const, input: 'col2im' as const },
    ]).filter((c) => c.dilation === 1),
  )('conv2d gradients ($method, $input): x=$x f=$f stride=$stride pad=$pad', async (c) => {
    forceFilterGradientMethod(c.method);
    forceInputGradientMethod(c.input);
    const xValues = seededValues(
      c.x.reduce((a, b) => a * b),
      1,
    );
    const fValues = seededValues(
      c.f.reduce((a, b) => a * b),
      2,
    );
    await expectSameOnWasmAndCpu(() => {
      const x = tf.tensor4d(xValues, c.x);
      const filter = tf.tensor4d(fValues, c.f);
      const conv = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.conv2d(a, b, c.stride, c.pad, 'NHWC', c.dilation);
      const out = conv(x, filter);
      const dyValues = seededValues(out.size, 3);
      const dy = tf.tensor(dyValues, out.shape);
      const [dx, dFilter] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        conv(a as tf.Tensor4D, b as tf.Tensor4D),
      )([x, filter], dy);
      return [out, dx!, dFilter!];
    });
  });

  it.each([
    { method: 'convolution' as const, input: 'convolution' as const },
    { method: 'patch-columns' as const, input: 'col2im' as const },
  ])(
    'dilated conv2d gradients ($method, $input) match a zero-inserted filter on cpu',
    async ({ method, input }) => {
      forceFilterGradientMethod(method);
      forceInputGradientMethod(input);
      const xShape: [number, number, number, number] = [2, 12, 12, 2];
      const fShape: [number, number, number, number] = [3, 3, 2, 3];
      const d = 2;
      const xValues = seededValues(
        xShape.reduce((a, b) => a * b),
        14,
      );
      const fValues = seededValues(
        fShape.reduce((a, b) => a * b),
        15,
      );
      const outShape = [2, 12, 12, 3];
      const dyValues = seededValues(
        outShape.reduce((a, b) => a * b),
        16,
      );
      const dilatedSize = (fShape[0] - 1) * d + 1;
      const [refDx, refDf] = await valuesOn('cpu', () => {
        const x = tf.tensor4d(xValues, [...xShape]);
        const f = tf.tensor4d(fValues, [...fShape]);
        // Spread the filter taps d apart with zeros between them: an undilated conv with it equals the dilated conv.
        const spread = tf.buffer([dilatedSize, dilatedSize, fShape[2], fShape[3]]);
        const fBuffer = f.bufferSync();
        for (let h = 0; h < fShape[0]; h += 1)
          for (let w = 0; w < fShape[1]; w += 1)
            for (let i = 0; i < fShape[2]; i += 1)
              for (let o = 0; o < fShape[3]; o += 1) spread.set(fBuffer.get(h, w, i, o), h * d, w * d, i, o);
        const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same');
        const [dx, dSpread] = tf.grads(conv)([x, spread.toTensor()], tf.tensor(dyValues, outShape));
        const picked = tf.stridedSlice(
          dSpread!,
          [0, 0, 0, 0],
          [dilatedSize, dilatedSize, fShape[2], fShape[3]],
          [d, d, 1, 1],
        );
        return [dx!, picked];
      });
      const [dx, df] = await valuesOn('wasm', () => {
        const x = tf.tensor4d(xValues, [...xShape]);
        const f = tf.tensor4d(fValues, [...fShape]);
        const dy = tf.tensor4d(dyValues, outShape as [number, number, number, number]);
        const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: d };
        return [
          tf
            .engine()
            .runKernel(
              'Conv2DBackpropInput',
              { dy, filter: f },
              { ...attrs, inputShape: xShape },
            ) as tf.Tensor,
          tf
            .engine()
            .runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: fShape }) as tf.Tensor,
        ];
      });
      expect(maxRelativeError(dx!, refDx!)).toBeLessThan(TOLERANCE);
      expect(maxRelativeError(df!, refDf!)).toBeLessThan(TOLERANCE);
    },
  );

  it.each([1, 4, 8])(
    'max pool gradient follows the cpu backend on ties, -Infinity and NaN (%i channels)',
    async (channels) => {
      const pattern = [1, 1, 1, 1, 2, 5, 5, 0, -Infinity, -Infinity, 3, 3, Number.NaN, 4, 4, 0];
      // Each channel gets the pattern shifted, so every window case lands in every SIMD lane.
      const values = Array.from({ length: 16 * channels }, (_, i) => {
        const [position, channel] = [Math.floor(i / channels), i % channels];
        return pattern[(position + channel * 5) % 16]!;
      });
      await expectSameOnWasmAndCpu(() => {
        const x = tf.tensor4d(values, [1, 4, 4, channels]);
        const pool = (a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid');
        const dy = tf.tensor4d(seededValues(4 * channels, 22), [1, 2, 2, channels]);
        return [tf.grad(pool)(x, dy)];
      });
    },
  );

  it.each([
    { shape: [64, 5, 5, 16], axes: [0, 1, 2], keepDims: false },
    { shape: [300, 7], axes: [0], keepDims: true },
    { shape: [4, 6, 3], axes: [0, 1], keepDims: false },
    { shape: [4, 6, 3], axes: [2], keepDims: false },
    { shape: [4, 6, 3], axes: [0, 1, 2], keepDims: false },
  ])('sum over axes $axes of $shape (bias gradients)', async (c) => {
    const values = seededValues(
      c.shape.reduce((a, b) => a * b),
      21,
    );
    await expectSameOnWasmAndCpu(() => [tf.sum(tf.tensor(values, c.shape), c.axes, c.keepDims)]);
  });

  it.each([
    { x: [2, 8, 8, 3], size: 2, stride: 2, pad: 'valid' as const },
    { x: [2, 9, 7, 3], size: 2, stride: 2, pad: 'valid' as const },
    { x: [2, 9, 7, 8], size: 2, stride: 2, pad: 'valid' as const },
    { x: [3, 6, 6, 4], size: 2, stride: 2, pad: 'same' as const },
    { x: [1, 9, 9, 2], size: 3, stride: 2, pad: 'same' as const },
    { x: [2, 7, 5, 4], size: 3, stride: 1, pad: 'same' as const },
  ])('max pool gradient: x=$x size=$size stride=$stride pad=$pad', async (c) => {
    const xValues = seededValues(
      c.x.reduce((a, b) => a * b),
      4,
    );
    await expectSameOnWasmAndCpu(() => {
      const x = tf.tensor4d(xValues, c.x as [number, number, number, number]);
      const pool = (a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, c.size, c.stride, c.pad);
      const out = pool(x);
      const dy = tf.tensor(seededValues(out.size, 5), out.shape);
      return [out, tf.grad(pool)(x, dy)];
    });
  });

  it.each([
    { a: [5, 7], b: [7, 3], ta: false, tb: false },
    { a: [7, 5], b: [7, 3], ta: true, tb: false },
    { a: [5, 7], b: [3, 7], ta: false, tb: true },
    { a: [2, 7, 5], b: [2, 3, 7], ta: true, tb: true },
    { a: [4, 6, 8], b: [4, 8, 6], ta: false, tb: false },
    // Small left operands take the Cᵀ = Bᵀ·Aᵀ route (packing A instead of B)
    { a: [3, 16], b: [16, 40], ta: false, tb: false },
    { a: [3, 16], b: [40, 16], ta: false, tb: true },
    { a: [16, 3], b: [16, 40], ta: true, tb: false },
    { a: [1, 2, 16], b: [1, 40, 16], ta: false, tb: true },
  ])('matmul and its gradients: a=$a b=$b transposeA=$ta transposeB=$tb', async (c) => {
    const aValues = seededValues(
      c.a.reduce((x, y) => x * y),
      6,
    );
    const bValues = seededValues(
      c.b.reduce((x, y) => x * y),
      7,
    );
    await expectSameOnWasmAndCpu(() => {
      const a = tf.tensor(aValues, c.a);
      const b = tf.tensor(bValues, c.b);
      const mm = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, c.ta, c.tb);
      const out = mm(a, b);
      const [da, db] = tf.grads(mm)([a, b], tf.tensor(seededValues(out.size, 8), out.shape));
      return [out, da!, db!];
    });
  });

  it.each([
    { x: [2, 7, 7, 3], f: [3, 3, 3, 2], stride: 1, pad: 'same' as const },
    { x: [1, 8, 8, 2], f: [3, 3, 2, 1], stride: 2, pad: 'valid' as const },
  ])('depthwise conv2d gradients: x=$x f=$f stride=$stride pad=$pad', async (c) => {
    const xValues = seededValues(
      c.x.reduce((a, b) => a * b),
      9,
    );
    const fValues = seededValues(
      c.f.reduce((a, b) => a * b),
      10,
    );
    await expectSameOnWasmAndCpu(() => {
      const x = tf.tensor4d(xValues, c.x as [number, number, number, number]);
      const filter = tf.tensor4d(fValues, c.f as [number, number, number, number]);
      const conv = (a: tf.Tensor, b: tf.Tensor) =>
        tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad);
      const out = conv(x, filter);
      const [dx, dFilter] = tf.grads(conv)([x, filter], tf.tensor(seededValues(out.size, 11), out.shape));
      return [out, dx!, dFilter!];
    });
  });

  it('gather gradient (unsorted segment sum)', async () => {
    await expectSameOnWasmAndCpu(() => {
      const table = tf.tensor2d(seededValues(12, 12), [4, 3]);
      const indices = tf.tensor1d([3, 0, 3, 1], 'int32');
      const gather = (t: tf.Tensor) => tf.gather(t, indices);
      return [tf.grad(gather)(table, tf.tensor2d(seededValues(12, 13), [4, 3]))];
    });
  });

  it('registration is idempotent and leaves no tensors behind', async () => {
    expect(registerWasmTrainingKernels()).toEqual([]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i += 1) {
      tf.tidy(() => {
        const x = tf.randomNormal([2, 6, 6, 2]) as tf.Tensor4D;
        const f = tf.randomNormal([3, 3, 2, 4]) as tf.Tensor4D;
        tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.maxPool(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), 2, 2, 'valid'),
        )([x, f]);
      });
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
