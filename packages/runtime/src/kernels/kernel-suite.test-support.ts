/**
 * Test support: every wasm training kernel, FusedAdam and the whole-model gradients of the three architecture
 * families compared with the cpu backend (tfjs's reference implementation). kernels.test.ts runs it on the stock
 * single-threaded build and kernels-threaded.test.ts on the threaded build with 2 threads, the configuration
 * training uses. A test named after a formulation pins it and checks, through the kernel-path counters, that it ran.
 *
 * Tolerances are stated as the metric used, max |wasm − cpu| / max |cpu| per output (maxErrorRelativeToLargest).
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { type GradientApplier, optimizerApplier } from '../train-step.ts';
import { type ConvolutionMethod, forceConvolutionMethod } from './conv2d.ts';
import { type FilterGradientMethod, forceFilterGradientMethod } from './conv2d-backprop-filter.ts';
import { forceInputGradientMethod, type InputGradientMethod } from './conv2d-backprop-input.ts';
import { FusedAdam } from './fused-adam.ts';
import { maxErrorRelativeToLargest, seededValues, valuesOn } from './gradient-check.ts';
import { registerWasmTrainingKernels } from './index.ts';
import { CONV_CASES, type ConvCase, LONG_REDUCTIONS, type Shape4 } from './kernel-cases.test-support.ts';
import { kernelPathCounts, resetKernelPathCounts } from './kernel-paths.ts';
import { describeModelGradients } from './model-gradients.test-support.ts';
import { GEMM_BLOCK_ROWS } from './simd/gemm.ts';
import { relaxedSimdSupported } from './simd/relaxed-simd.ts';
import { compileSimdKernels, moduleMemory, type WasmModuleLike } from './simd/simd-kernels.ts';
import { allocateFloat32, heapFloat32, heapOffset, type WasmBackend } from './wasm-access.ts';

/** Kernels: float32 results whose reductions run in another order than cpu's (observed: ≤ 1.3e-6). */
const TOLERANCE = 1e-5;
/**
 * Reductions over k ≥ 40,000 terms accumulated in float32: the rounding error grows like √k·2⁻²⁴ of the largest
 * sum, ~1.2e-5 at k = 43,264 (observed: ≤ 9.1e-6 against a float64 reference); the bound leaves a 4x margin.
 */
const LONG_REDUCTION_TOLERANCE = 4e-5;

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function expectClose(actual: Float32Array[], expected: Float32Array[], tolerance = TOLERANCE): void {
  expect(actual).toHaveLength(expected.length);
  for (const [i, values] of expected.entries())
    expect(maxErrorRelativeToLargest(actual[i]!, values), `output ${i}`).toBeLessThan(tolerance);
}

/** The paths one kernel took, as { path: count } (other kernels, e.g. Identity inside tf.grad, left out). */
function pathsOf(paths: Record<string, number>, kernel: string): Record<string, number> {
  return Object.fromEntries(
    Object.entries(paths)
      .filter(([key]) => key.startsWith(`${kernel}:`))
      .map(([key, count]) => [key.slice(kernel.length + 1), count]),
  );
}

/** Runs f on cpu and on wasm, compares every output, and returns the kernel paths the wasm run took. */
async function expectSameOnWasmAndCpu(f: () => tf.Tensor[], tolerance = TOLERANCE) {
  const expected = await valuesOn('cpu', f);
  resetKernelPathCounts();
  const actual = await valuesOn('wasm', f);
  const paths = kernelPathCounts();
  expectClose(actual, expected, tolerance);
  return paths;
}

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

/** C[i, j] = Σ_p A(p, i)·B[p, j] in float64, A(p, i) at p·strideK + i·strideM, B with row stride ldb. */
function gemmReference(
  a: Float32Array,
  b: Float32Array,
  k: number,
  m: number,
  n: number,
  strideK: number,
  strideM: number,
  ldb: number,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let p = 0; p < k; p += 1)
    for (let i = 0; i < m; i += 1) {
      const av = a[p * strideK + i * strideM]!;
      for (let j = 0; j < n; j += 1) c[i * n + j]! += av * b[p * ldb + j]!;
    }
  return c;
}

/**
 * Registers the suite; the caller has made the wasm backend (of the build under test) current. `sampleShapes`
 * (the threaded build) runs our own SIMD loops, which are single-threaded and the same code on either build (only
 * the memory they address is shared), on a sample of their shapes; every XNNPACK-backed kernel and every
 * formulation still runs on every case.
 */
export function describeKernelSuite(
  build: string,
  { sampleShapes = false }: { sampleShapes?: boolean } = {},
): void {
  const sample = <T>(items: readonly T[], keep: (item: T, index: number) => boolean): T[] =>
    sampleShapes ? items.filter(keep) : [...items];
  afterEach(() => {
    forceConvolutionMethod(undefined);
    forceFilterGradientMethod(undefined);
    forceInputGradientMethod(undefined);
  });

  describe(`wasm training kernels match the cpu backend (${build})`, () => {
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
          const conv = (a: tf.Tensor, b: tf.Tensor) =>
            tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same');
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

    const GEMM_SHAPES = [
      // Aᵀ·B, A [k, m]: the reference CNN's first-layer filter gradient at batch 64 (k = 43,264, 9 taps, 32 channels).
      { layout: 'AT·B', k: 43_264, m: 9, n: 32, lda: 9, ldb: 32 },
      // Odd k and m (m odd computes a spare row it must not store; the last block of rows is partial), rows padded
      // on both operands.
      { layout: 'AT·B', k: 40_001, m: 7, n: 16, lda: 11, ldb: 48 },
      { layout: 'AT·B', k: 3, m: 1, n: 64, lda: 2, ldb: 64 },
      { layout: 'AT·B', k: 1, m: 5, n: 16, lda: 5, ldb: 16 },
      { layout: 'AT·B', k: 0, m: 3, n: 16, lda: 3, ldb: 16 },
      // A·B, A [m, k]: the reference CNN's first convolution at batch 64 (43,264 pixels x 9 taps), odd and padded.
      { layout: 'A·B', k: 9, m: 43_264, n: 32, lda: 9, ldb: 32 },
      { layout: 'A·B', k: 27, m: 1001, n: 48, lda: 30, ldb: 64 },
    ] as const;
    // Both accumulations, whichever this engine picks for training: f32x4.mul + add everywhere, and
    // f32x4.relaxed_madd (FMA) where relaxed SIMD validates (Node 20 with the flag relaxed-simd.ts sets, Node 22+);
    // rows in blocks (as training runs it) and in one pass.
    const references = new Map<string, Float64Array>();
    // The one-pass form (blockRows 0) exists for kernel-speed-cli.ts; it is checked on the odd shapes only.
    const oddShapes = GEMM_SHAPES.filter((shape) => shape.k === 40_001 || shape.m === 1001 || shape.k === 0);
    it.each(
      sample(
        [false, true].flatMap((fusedMultiplyAdd) => [
          ...GEMM_SHAPES.map((shape) => ({ ...shape, fusedMultiplyAdd, blockRows: GEMM_BLOCK_ROWS })),
          ...oddShapes.map((shape) => ({ ...shape, fusedMultiplyAdd, blockRows: 0 })),
        ]),
        (c) => c.blockRows > 0 && (c.k === 40_001 || c.m === 1001),
      ),
    )(
      'SIMD GEMM $layout (fused multiply-add: $fusedMultiplyAdd, block rows: $blockRows) against float64: k=$k m=$m n=$n lda=$lda ldb=$ldb',
      (c) => {
        if (c.fusedMultiplyAdd && !relaxedSimdSupported()) {
          console.warn(
            `skipped: relaxed SIMD does not validate on node ${process.version}; training uses mul + add`,
          );
          return;
        }
        const backend = tf.backend() as WasmBackend;
        const kernels = compileSimdKernels(moduleMemory(backend.wasm as unknown as WasmModuleLike), c);
        const [strideK, strideM] = c.layout === 'AT·B' ? [c.lda, 1] : [1, c.lda];
        const a = tf.tensor1d(seededValues((c.layout === 'AT·B' ? c.k : c.m) * c.lda, 6));
        const b = tf.tensor1d(seededValues(c.k * c.ldb, 7));
        // A guard row after C: nothing may be written past m·n.
        const out = allocateFloat32(backend, [c.m * c.n + c.n]);
        heapFloat32(backend, out).fill(42);
        kernels.gemm(
          heapOffset(backend, a),
          heapOffset(backend, b),
          heapOffset(backend, out),
          c.k,
          c.m,
          c.n,
          strideK,
          strideM,
          c.ldb,
        );
        const result = heapFloat32(backend, out).slice();
        backend.disposeData(out.dataId);
        const key = `${c.layout} ${c.k} ${c.m} ${c.n} ${c.lda} ${c.ldb}`;
        const aValues = a.dataSync() as Float32Array;
        const bValues = b.dataSync() as Float32Array;
        if (!references.has(key))
          references.set(key, gemmReference(aValues, bValues, c.k, c.m, c.n, strideK, strideM, c.ldb));
        const expected = references.get(key)!;
        tf.dispose([a, b]);
        expect(maxErrorRelativeToLargest(result.subarray(0, c.m * c.n), expected)).toBeLessThan(
          c.k >= 40_000 ? LONG_REDUCTION_TOLERANCE : TOLERANCE,
        );
        expect([...result.subarray(c.m * c.n)]).toEqual(new Array(c.n).fill(42));
      },
    );

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

    it('FusedAdam (SIMD update on the wasm heap) matches tf.train.adam on cpu over three steps', async () => {
      // 1027 values: the 4-wide loop and its scalar tail.
      const initial = seededValues(1027, 17);
      const gradients = [18, 19, 20].map((seed) => seededValues(1027, seed));
      const train = (optimizer: () => GradientApplier & { dispose(): void }) => () => {
        const variable = tf.variable(tf.tensor1d(initial));
        const adam = optimizer();
        for (const g of gradients) adam.applyGradients({ [variable.name]: tf.tensor1d(g) });
        adam.dispose();
        const out = variable.clone();
        variable.dispose();
        return [out];
      };
      const [expected] = await valuesOn(
        'cpu',
        train(() => {
          const adam = tf.train.adam(0.01);
          return { ...optimizerApplier(adam), dispose: () => adam.dispose() };
        }),
      );
      const [actual] = await valuesOn(
        'wasm',
        train(() => new FusedAdam({ learningRate: 0.01 })),
      );
      expect(maxErrorRelativeToLargest(actual!, expected!)).toBeLessThan(1e-6);
      // The updates are real: three Adam steps of 0.01 moved the weights.
      expect(maxErrorRelativeToLargest(initial, expected!)).toBeGreaterThan(1e-3);
    });

    it.each([
      ['float32', [1.5, -2, 3.25, 4]],
      ['int32', [1, -2, 3, 4]],
      ['bool', [1, 0, 0, 1]],
    ] as const)(
      'Identity and same-dtype Cast alias a %s tensor: same heap memory, own lifetime',
      (dtype, values) => {
        const backend = tf.backend() as WasmBackend;
        const x = tf.tensor(values as unknown as number[], [2, 2], dtype);
        const buffers = backend.numDataIds();
        resetKernelPathCounts();
        const clone = tf.clone(x);
        const cast = tf.cast(x, dtype);
        expect(kernelPathCounts()).toEqual({ 'Identity:alias': 1, 'Cast:alias': 1 });
        for (const alias of [clone, cast]) {
          expect(alias.dtype).toBe(dtype);
          expect(alias.shape).toEqual([2, 2]);
          expect(alias.dataId).toBe(x.dataId);
          expect(heapOffset(backend, alias)).toBe(heapOffset(backend, x));
        }
        expect(backend.numDataIds()).toBe(buffers);
        // Each tensor has its own lifetime: the memory goes when the last of the three is disposed.
        x.dispose();
        expect([...clone.dataSync()]).toEqual([...values]);
        clone.dispose();
        expect([...cast.dataSync()]).toEqual([...values]);
        expect(backend.numDataIds()).toBe(buffers);
        cast.dispose();
        expect(backend.numDataIds()).toBe(buffers - 1);
      },
    );

    it('a Cast to another dtype converts into new memory', () => {
      const backend = tf.backend() as WasmBackend;
      const x = tf.tensor([1.5, -2.75, 3, 0], [4]);
      resetKernelPathCounts();
      const asInt = tf.cast(x, 'int32');
      expect(kernelPathCounts()).toEqual({ 'Cast:convert': 1 });
      expect(asInt.dtype).toBe('int32');
      expect([...asInt.dataSync()]).toEqual([1, -2, 3, 0]);
      expect(heapOffset(backend, asInt)).not.toBe(heapOffset(backend, x));
      tf.dispose([x, asInt]);
    });

    it('registration is idempotent and leaves no tensors behind', () => {
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
  describeModelGradients(build);
}
