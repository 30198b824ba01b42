import {
  backend_util,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropFilterInputs,
  type KernelConfig,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { MAX_COLUMN_VALUES } from './conv2d-backprop-input.ts';
import { writePatchColumns, writePatchRows } from './im2col.ts';
import { recordKernelPath } from './kernel-paths.ts';
import {
  allocateFloat32,
  disposeInfo,
  heapOffset,
  runWasmKernel,
  simd,
  type WasmBackend,
} from './wasm-access.ts';

type ConvInfo = backend_util.Conv2DInfo;

/**
 * dW as one XNNPACK convolution, so it runs on the wasm thread pool with no im2col buffer:
 *
 *   dW[kh, kw, ci, co] = Σ_{b, oh, ow} x[b, oh·s + kh·d − top, ow·s + kw·d − left, ci] · dy[b, oh, ow, co]
 *
 * is a convolution of x laid out as [ci, H, W, b] (the channels are the batch) with dy laid out as a filter
 * [outH, outW, b, co]: the forward stride becomes the filter dilation and the forward dilation becomes the stride.
 * Its output [ci, fh, fw, co] is transposed to the filter layout [fh, fw, ci, co].
 */
function filterGradientByConvolution(backend: WasmBackend, x: TensorInfo, dy: TensorInfo, info: ConvInfo) {
  const { inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const { top, left } = info.padInfo;
  // Rows/columns of x past the last window are never read; a negative bottom/right pad crops them.
  const bottom = (filterHeight - 1) * dilationHeight + (outHeight - 1) * strideHeight + 1 - inHeight - top;
  const right = (filterWidth - 1) * dilationWidth + (outWidth - 1) * strideWidth + 1 - inWidth - left;
  let source = x;
  if (bottom < 0 || right < 0) {
    source = runWasmKernel(
      backend,
      'Slice',
      { x },
      {
        begin: [0, 0, 0, 0],
        size: [x.shape[0]!, inHeight + Math.min(bottom, 0), inWidth + Math.min(right, 0), inChannels],
      },
    );
  }
  const input = runWasmKernel(backend, 'Transpose', { x: source }, { perm: [3, 1, 2, 0] });
  if (source !== x) disposeInfo(backend, source);
  const filter = runWasmKernel(backend, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
  const product = runWasmKernel(
    backend,
    'Conv2D',
    { x: input, filter },
    {
      strides: [dilationHeight, dilationWidth],
      dilations: [strideHeight, strideWidth],
      pad: [
        [0, 0],
        [top, Math.max(bottom, 0)],
        [left, Math.max(right, 0)],
        [0, 0],
      ],
      dataFormat: 'NHWC',
    },
  );
  disposeInfo(backend, input);
  disposeInfo(backend, filter);
  const shape = [filterHeight, filterWidth, inChannels, outChannels];
  const result =
    inChannels === 1
      ? runWasmKernel(backend, 'Reshape', { x: product }, { shape })
      : runWasmKernel(backend, 'Transpose', { x: product }, { perm: [1, 2, 0, 3] });
  disposeInfo(backend, product);
  return result;
}

/**
 * dW = patchesᵀ · dy with the transposed patch matrix [K = fh·fw·inC, N] as the left operand, so the right operand
 * XNNPACK has to pack per call is dy [N, outC] (tfjs-wasm packs the right operand of every product, ~5-10 ns per
 * value, so it must be the smaller one). The product comes out in filter layout.
 */
function filterGradientByPatchColumns(backend: WasmBackend, x: TensorInfo, dy: TensorInfo, info: ConvInfo) {
  const k = info.filterHeight * info.filterWidth * info.inChannels;
  const n = info.batchSize * info.outHeight * info.outWidth;
  const channelMajor = runWasmKernel(backend, 'Transpose', { x }, { perm: [3, 0, 1, 2] });
  const columns = allocateFloat32(backend, [1, k, n]);
  writePatchColumns(backend, channelMajor, info, columns);
  disposeInfo(backend, channelMajor);
  const dy3d = runWasmKernel(backend, 'Reshape', { x: dy }, { shape: [1, n, info.outChannels] });
  const product = runWasmKernel(
    backend,
    'BatchMatMul',
    { a: columns, b: dy3d },
    { transposeA: false, transposeB: false },
  );
  disposeInfo(backend, columns);
  disposeInfo(backend, dy3d);
  const result = runWasmKernel(backend, 'Reshape', { x: product }, { shape: info.filterShape });
  disposeInfo(backend, product);
  return result;
}

/**
 * dW = patchesᵀ · dy by our SIMD kernel, which packs neither operand: for filters with few taps (first layers on 1-3
 * channels) XNNPACK would spend far longer packing dy [N, outC] than multiplying. Needs outC % 16 == 0. The product
 * [K, outC] is already in filter layout.
 */
function filterGradientByPatchRows(backend: WasmBackend, x: TensorInfo, dy: TensorInfo, info: ConvInfo) {
  const k = info.filterHeight * info.filterWidth * info.inChannels;
  const n = info.batchSize * info.outHeight * info.outWidth;
  const rows = allocateFloat32(backend, [n, k]);
  writePatchRows(backend, x, info, rows);
  const result = allocateFloat32(backend, info.filterShape);
  // rows [n, k] is Aᵀ for the product [k, outC] = rowsᵀ · dy: strides (k, 1).
  simd(backend).gemm(
    heapOffset(backend, rows),
    heapOffset(backend, dy),
    heapOffset(backend, result),
    n,
    k,
    info.outChannels,
    k,
    1,
    info.outChannels,
  );
  disposeInfo(backend, rows);
  return result;
}

export type FilterGradientMethod = 'convolution' | 'patch-columns' | 'patch-rows';
const METHODS = {
  convolution: filterGradientByConvolution,
  'patch-columns': filterGradientByPatchColumns,
  'patch-rows': filterGradientByPatchRows,
} as const;
let forcedMethod: FilterGradientMethod | undefined;

/**
 * Test and benchmark hook: pins the formulation instead of choosing by shape. Pinning one a shape cannot take
 * (patch-rows needs outChannels % 16 == 0) makes the kernel throw rather than quietly run another.
 */
export function forceFilterGradientMethod(method: FilterGradientMethod | undefined): void {
  forcedMethod = method;
}

/**
 * A patch-matrix form is the default: the convolution form pays tfjs's transpose and XNNPACK's packing of a filter
 * as large as dy and computes small outputs in idle tiles (measured at batch 64, 2 threads: 12.9 vs 21.8 ms for
 * 3x3x32x64, 1.5 vs 23.7 ms for 3x3x1x32). Of the two, patch-rows (our unpacked SIMD GEMM, fused multiply-add and
 * blocked rows) wins wherever it applies, because XNNPACK's patch-columns product first packs dy (N·outC values, on
 * one thread): measured at batch 64 with a new dy per call, as in training, patch-rows vs patch-columns took
 * 2.9 vs 8.4 ms (3x3x1x32), 18 vs 28 ms (3x3x32x64), 66 vs 87 ms (3x3x64x64 on 16x16), 56 vs 63 ms (3x3x128x128
 * on 8x8) on 2 threads, and 2.7-2.9x, 1.2x, 1.1x, 1.1x less CPU time on 1 thread (2 cores, load average 5-6;
 * kernel-speed-cli.ts repeats the comparison). Both need a [N, K] buffer, so the
 * convolution form takes over past MAX_COLUMN_VALUES (large images).
 */
function chooseMethod(info: ConvInfo): FilterGradientMethod {
  if (forcedMethod === 'patch-rows' && info.outChannels % 16 !== 0)
    throw new Error(`patch-rows needs outChannels % 16 == 0, got ${info.outChannels}`);
  if (forcedMethod) return forcedMethod;
  const columns =
    info.filterHeight * info.filterWidth * info.inChannels * info.batchSize * info.outHeight * info.outWidth;
  if (columns > MAX_COLUMN_VALUES) return 'convolution';
  return info.outChannels % 16 === 0 ? 'patch-rows' : 'patch-columns';
}

function conv2dBackpropFilter({
  inputs,
  backend,
  attrs,
}: {
  inputs: Conv2DBackpropFilterInputs;
  backend: WasmBackend;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
  const dilations = (attrs as { dilations?: number | [number, number] }).dilations ?? 1;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    dilations,
    pad,
    dimRoundingMode,
  );
  const method = chooseMethod(info);
  recordKernelPath(Conv2DBackpropFilter, method);
  return METHODS[method](backend, x, dy, info);
}

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter as unknown as KernelConfig['kernelFunc'],
};
