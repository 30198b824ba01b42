/**
 * Test support: the convolution cases of the kernel suite (kernel-suite.test-support.ts): every formulation of the
 * forward pass, the filter gradient and the input gradient on every shape that can take it, pinned and checked
 * through the kernel-path counters; dilation; and the filter gradient's long reductions against float64.
 */
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { type ConvolutionMethod, forceConvolutionMethod } from './conv2d.ts';
import { type FilterGradientMethod, forceFilterGradientMethod } from './conv2d-backprop-filter.ts';
import { forceInputGradientMethod, type InputGradientMethod } from './conv2d-backprop-input.ts';
import { maxErrorRelativeToLargest, seededValues, valuesOn } from './gradient-check.ts';
import { CONV_CASES, type ConvCase, LONG_REDUCTIONS, type Shape4 } from './kernel-cases.test-support.ts';
import { kernelPathCounts, resetKernelPathCounts } from './kernel-paths.ts';
import {
  expectClose,
  expectSameOnWasmAndCpu,
  LONG_REDUCTION_TOLERANCE,
  pathsOf,
  type Sample,
  size,
} from './kernel-suite-compare.test-support.ts';

/** The conv's output, dx and dFilter for a case, with fixed inputs. */
function convGradients(c: Omit<ConvCase, 'inputConvolution'>, dilation = 1): () => tf.Tensor[] {
  const xValues = seededValues(size(c.x), 1);
  const fValues = seededValues(size(c.f), 2);
  return () => {
    const x = tf.tensor4d(xValues, c.x);
    const filter = tf.tensor4d(fValues, c.f);
    const conv = (a: tf.Tensor, b: tf.Tensor) =>
      tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad, 'NHWC', dilation);
    const out = conv(x, filter);
    const dy = tf.tensor(seededValues(out.size, 3), out.shape);
    const [dx, dFilter] = tf.grads(conv)([x, filter], dy);
    return [out, dx!, dFilter!];
  };
}

/** dW[kh, kw, ci, co] = Σ_{b, oh, ow} x[b, oh·s + kh − top, ow·s + kw − left, ci] · dy[b, oh, ow, co], in float64. */
function filterGradientReference(
  x: Float32Array,
  dy: Float32Array,
  info: tf.backend_util.Conv2DInfo,
): Float64Array {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  const dw = new Float64Array(filterHeight * filterWidth * inChannels * outChannels);
  for (let b = 0; b < batchSize; b += 1)
    for (let oh = 0; oh < outHeight; oh += 1)
      for (let ow = 0; ow < outWidth; ow += 1) {
        const g = ((b * outHeight + oh) * outWidth + ow) * outChannels;
        for (let kh = 0; kh < filterHeight; kh += 1) {
          const ih = oh * strideHeight + kh - top;
          if (ih < 0 || ih >= inHeight) continue;
          for (let kw = 0; kw < filterWidth; kw += 1) {
            const iw = ow * strideWidth + kw - left;
            if (iw < 0 || iw >= inWidth) continue;
            for (let ci = 0; ci < inChannels; ci += 1) {
              const xv = x[((b * inHeight + ih) * inWidth + iw) * inChannels + ci]!;
              const w = ((kh * filterWidth + kw) * inChannels + ci) * outChannels;
              for (let co = 0; co < outChannels; co += 1) dw[w + co]! += xv * dy[g + co]!;
            }
          }
        }
      }
  return dw;
}

/** Adds the convolution tests to the current describe; `sample` thins the long reductions on a sampling build. */
export function addConvolutionTests(sample: Sample): void {
  const FILTER_METHODS: FilterGradientMethod[] = ['convolution', 'patch-columns', 'patch-rows'];
  it.each(
    FILTER_METHODS.flatMap((method) =>
      CONV_CASES.filter((c) => method !== 'patch-rows' || c.f[3] % 16 === 0).map((c) => ({ ...c, method })),
    ),
  )('conv2d filter gradient by $method: x=$x f=$f stride=$stride pad=$pad', async (c) => {
    forceFilterGradientMethod(c.method);
    const paths = await expectSameOnWasmAndCpu(convGradients(c));
    expect(pathsOf(paths, 'Conv2DBackpropFilter')).toEqual({ [c.method]: 1 });
  });

  const CONVOLUTION_METHODS: ConvolutionMethod[] = ['xnnpack', 'patch-rows'];
  it.each(
    CONVOLUTION_METHODS.flatMap((method) =>
      CONV_CASES.filter((c) => method === 'xnnpack' || c.f[3] % 16 === 0).map((c) => ({ ...c, method })),
    ),
  )('conv2d forward by $method: x=$x f=$f stride=$stride pad=$pad', async (c) => {
    forceConvolutionMethod(c.method);
    const paths = await expectSameOnWasmAndCpu(convGradients(c));
    // Two forward passes: the output itself, and the one tf.grads records.
    expect(pathsOf(paths, 'Conv2D')).toEqual({ [c.method]: 2 });
  });

  const INPUT_METHODS: InputGradientMethod[] = ['convolution', 'col2im'];
  it.each(
    INPUT_METHODS.flatMap((method) =>
      CONV_CASES.filter((c) => method === 'col2im' || c.inputConvolution).map((c) => ({ ...c, method })),
    ),
  )('conv2d input gradient by $method: x=$x f=$f stride=$stride pad=$pad', async (c) => {
    forceInputGradientMethod(c.method);
    const paths = await expectSameOnWasmAndCpu(convGradients(c));
    expect(pathsOf(paths, 'Conv2DBackpropInput')).toEqual({ [c.method]: 1 });
  });

  it('pinning a formulation a shape cannot take is an error, not another formulation', async () => {
    forceFilterGradientMethod('patch-rows');
    await expect(valuesOn('wasm', convGradients(CONV_CASES[0]!))).rejects.toThrow(/outChannels % 16/);
    forceFilterGradientMethod(undefined);
    forceInputGradientMethod('convolution');
    await expect(valuesOn('wasm', convGradients(CONV_CASES[2]!))).rejects.toThrow(/stride 1/);
  });

  it.each([
    { method: 'convolution' as const, input: 'convolution' as const },
    { method: 'patch-columns' as const, input: 'col2im' as const },
    { method: 'patch-rows' as const, input: 'col2im' as const },
  ])(
    'dilated conv2d gradients ($method, $input) match a zero-inserted filter on cpu',
    async ({ method, input }) => {
      // tfjs's cpu backend has no dilated conv gradients: the reference spreads the filter taps 2 apart with zeros
      // between them; an undilated conv with that filter is the dilated conv.
      forceFilterGradientMethod(method);
      forceInputGradientMethod(input);
      const xShape: Shape4 = [2, 12, 12, 2];
      const fShape: Shape4 = [3, 3, 2, 16];
      const d = 2;
      const xValues = seededValues(size(xShape), 14);
      const fValues = seededValues(size(fShape), 15);
      const outShape: Shape4 = [2, 12, 12, 16];
      const dyValues = seededValues(size(outShape), 16);
      const spreadSize = (fShape[0] - 1) * d + 1;
      const expected = await valuesOn('cpu', () => {
        const spread = tf.buffer([spreadSize, spreadSize, fShape[2], fShape[3]]);
        const f = tf.tensor4d(fValues, fShape).bufferSync();
        for (let h = 0; h < fShape[0]; h += 1)
          for (let w = 0; w < fShape[1]; w += 1)
            for (let i = 0; i < fShape[2]; i += 1)
              for (let o = 0; o < fShape[3]; o += 1) spread.set(f.get(h, w, i, o), h * d, w * d, i, o);
        const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same');
        const [dx, dSpread] = tf.grads(conv)(
          [tf.tensor4d(xValues, xShape), spread.toTensor()],
          tf.tensor(dyValues, outShape),
        );
        const taps = tf.stridedSlice(
          dSpread!,
          [0, 0, 0, 0],
          [spreadSize, spreadSize, ...fShape.slice(2)],
          [d, d, 1, 1],
        );
        return [dx!, taps];
      });
      resetKernelPathCounts();
      const actual = await valuesOn('wasm', () => {
        const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: d };
        const dy = tf.tensor4d(dyValues, outShape);
        const run = (kernel: string, inputs: tf.NamedTensorMap, extra: object) =>
          tf.engine().runKernel(kernel, inputs, { ...attrs, ...extra }) as tf.Tensor;
        return [
          run('Conv2DBackpropInput', { dy, filter: tf.tensor4d(fValues, fShape) }, { inputShape: xShape }),
          run('Conv2DBackpropFilter', { x: tf.tensor4d(xValues, xShape), dy }, { filterShape: fShape }),
        ];
      });
      const paths = kernelPathCounts();
      expect(pathsOf(paths, 'Conv2DBackpropInput')).toEqual({ [input]: 1 });
      expect(pathsOf(paths, 'Conv2DBackpropFilter')).toEqual({ [method]: 1 });
      expectClose(actual, expected);
    },
  );

  it.each(sample(LONG_REDUCTIONS, (_, i) => i === LONG_REDUCTIONS.length - 1))(
    'patch-rows (SIMD GEMM) filter gradient over a long reduction, against float64: x=$x f=$f stride=$stride pad=$pad',
    async (c) => {
      forceFilterGradientMethod('patch-rows');
      const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.stride, 1, c.pad as 'same');
      const dyShape: Shape4 = [c.x[0], info.outHeight, info.outWidth, c.f[3]];
      expect(c.x[0] * info.outHeight * info.outWidth).toBeGreaterThanOrEqual(40_000);
      const xValues = seededValues(size(c.x), 4);
      const dyValues = seededValues(size(dyShape), 5);
      resetKernelPathCounts();
      const [actual] = await valuesOn('wasm', () => [
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x: tf.tensor4d(xValues, c.x), dy: tf.tensor4d(dyValues, dyShape) },
            { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', filterShape: c.f },
          ) as tf.Tensor,
      ]);
      expect(pathsOf(kernelPathCounts(), 'Conv2DBackpropFilter')).toEqual({ 'patch-rows': 1 });
      // The cpu backend's kernel sums in float64 too, but reads every value through TensorBuffer.get (~1 s here).
      const expected = filterGradientReference(xValues, dyValues, info);
      expect(maxErrorRelativeToLargest(actual!, expected)).toBeLessThan(LONG_REDUCTION_TOLERANCE);
    },
  );
}
