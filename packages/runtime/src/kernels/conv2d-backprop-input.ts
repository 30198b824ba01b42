import {
  backend_util,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { addPatchRows } from './im2col.ts';
import { recordKernelPath } from './kernel-paths.ts';
import { allocateFloat32, disposeInfo, runWasmKernel, type WasmBackend } from './wasm-access.ts';

type ConvInfo = backend_util.Conv2DInfo;

/**
 * Stride 1 only: dx is the "full" correlation of dy with the spatially flipped filter whose in/out channels are swapped,
 * i.e. one XNNPACK convolution on the wasm thread pool. Returns undefined when the forward pad exceeds the filter
 * reach (the flipped convolution would need a negative pad) or the stride is not 1.
 */
function inputGradientByConvolution(
  backend: WasmBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  info: ConvInfo,
): TensorInfo | undefined {
  if (info.strideHeight !== 1 || info.strideWidth !== 1) return undefined;
  const reachHeight = (info.filterHeight - 1) * info.dilationHeight;
  const reachWidth = (info.filterWidth - 1) * info.dilationWidth;
  const { top, bottom, left, right } = info.padInfo;
  const pads = [reachHeight - top, reachHeight - bottom, reachWidth - left, reachWidth - right];
  if (pads.some((p) => p < 0)) return undefined;
  const flipped = runWasmKernel(backend, 'Reverse', { x: filter }, { dims: [0, 1] });
  const swapped = runWasmKernel(backend, 'Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
  disposeInfo(backend, flipped);
  const dx = runWasmKernel(
    backend,
    'Conv2D',
    { x: dy, filter: swapped },
    {
      strides: 1,
      dilations: [info.dilationHeight, info.dilationWidth],
      pad: [
        [0, 0],
        [pads[0]!, pads[1]!],
        [pads[2]!, pads[3]!],
        [0, 0],
      ],
      dataFormat: 'NHWC',
    },
  );
  disposeInfo(backend, swapped);
  return dx;
}

/**
 * Any stride: dx = col2im(dy · W^T). The product [N, outC] x [outC, K] is one XNNPACK matmul whose packed operand
 * is the small Wᵀ; the scatter-add that follows is one SIMD block add per filter tap.
 */
function inputGradientByCol2im(backend: WasmBackend, dy: TensorInfo, filter: TensorInfo, info: ConvInfo) {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const k = info.filterHeight * info.filterWidth * inChannels;
  const n = batchSize * outHeight * outWidth;
  const filter2d = runWasmKernel(backend, 'Reshape', { x: filter }, { shape: [k, outChannels] });
  const filterT = runWasmKernel(backend, 'Transpose', { x: filter2d }, { perm: [1, 0] });
  disposeInfo(backend, filter2d);
  const dy2d = runWasmKernel(backend, 'Reshape', { x: dy }, { shape: [1, n, outChannels] });
  const filterT3d = runWasmKernel(backend, 'Reshape', { x: filterT }, { shape: [1, outChannels, k] });
  const columns = runWasmKernel(
    backend,
    'BatchMatMul',
    { a: dy2d, b: filterT3d },
    { transposeA: false, transposeB: false },
  );
  disposeInfo(backend, dy2d);
  disposeInfo(backend, filterT3d);
  disposeInfo(backend, filterT);

  const dx = allocateFloat32(backend, [batchSize, inHeight, inWidth, inChannels]);
  addPatchRows(backend, columns, info, dx);
  disposeInfo(backend, columns);
  return dx;
}

/**
 * Replaces the stock wasm kernel, a direct loop (≈1 GMAC/s) that also ignores dilations, with XNNPACK work. col2im
 * is the default: its matmul does exactly the forward's MACs (the flipped convolution also multiplies the zero
 * border) and XNNPACK computes few output channels inefficiently (measured at batch 64, 2 threads: 13.9 vs 15.5 ms
 * for 3x3x32x64, 3.8 vs 8.0 ms for 3x3x1x32).
 */
function conv2dBackpropInput({
  inputs,
  backend,
  attrs,
}: {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: WasmBackend;
  attrs: Conv2DBackpropInputAttrs & { dilations?: number | [number, number] };
}): TensorInfo {
  const { dy, filter } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  if (dataFormat === 'NCHW') throw new Error('Conv2DBackpropInput on wasm supports NHWC only');
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    attrs.dilations ?? 1,
    pad,
    dimRoundingMode,
  );
  const columns =
    info.batchSize * info.outHeight * info.outWidth * info.filterHeight * info.filterWidth * info.inChannels;
  const method = forcedMethod ?? (columns <= MAX_COLUMN_VALUES ? 'col2im' : 'convolution');
  if (method === 'convolution') {
    const dx = inputGradientByConvolution(backend, dy, filter, info);
    if (dx) {
      recordKernelPath(Conv2DBackpropInput, 'convolution');
      return dx;
    }
    if (forcedMethod) throw new Error('the convolution form needs stride 1 and pads within the filter reach');
  }
  recordKernelPath(Conv2DBackpropInput, 'col2im');
  return inputGradientByCol2im(backend, dy, filter, info);
}

/**
 * Largest [N, K] column buffer the col2im form may allocate (128 MiB); past it (large images) the convolution form,
 * which needs none, is used where it applies.
 */
export const MAX_COLUMN_VALUES = 2 ** 25;

export type InputGradientMethod = 'convolution' | 'col2im';
let forcedMethod: InputGradientMethod | undefined;

/**
 * Test and benchmark hook: pins the formulation. Pinning the convolution form where it cannot run (stride > 1, or
 * a pad past the filter's reach) makes the kernel throw rather than quietly run col2im.
 */
export function forceInputGradientMethod(method: InputGradientMethod | undefined): void {
  forcedMethod = method;
}

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput as unknown as KernelConfig['kernelFunc'],
};
