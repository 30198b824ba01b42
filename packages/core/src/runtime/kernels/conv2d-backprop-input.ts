import {
  backend_util,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { allocateFloat32, disposeInfo, heapFloat32, runWasmKernel, type WasmBackend } from './wasm-access.ts';

type ConvInfo = backend_util.Conv2DInfo;

/**
 * Stride 1: dx is the "full" correlation of dy with the spatially flipped filter whose in/out channels are swapped,
 * i.e. one XNNPACK convolution on the wasm thread pool. Returns undefined when the forward pad exceeds the filter
 * reach (the flipped convolution would need a negative pad).
 */
function inputGradientByConvolution(
  backend: WasmBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  info: ConvInfo,
): TensorInfo | undefined {
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
 * Any stride: dx = col2im(dy · W^T). The product [N, outC] x [outC, K] is one XNNPACK matmul; the scatter-add that
 * follows is a single pass over the columns.
 */
function inputGradientByCol2im(backend: WasmBackend, dy: TensorInfo, filter: TensorInfo, info: ConvInfo) {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const k = filterHeight * filterWidth * inChannels;
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
  const out = heapFloat32(backend, dx);
  const col = heapFloat32(backend, columns);
  out.fill(0);
  const { top, left } = info.padInfo;
  for (let b = 0; b < batchSize; b += 1) {
    for (let oh = 0; oh < outHeight; oh += 1) {
      for (let ow = 0; ow < outWidth; ow += 1) {
        const row = ((b * outHeight + oh) * outWidth + ow) * k;
        for (let fh = 0; fh < filterHeight; fh += 1) {
          const ih = oh * strideHeight + fh * dilationHeight - top;
          if (ih < 0 || ih >= inHeight) continue;
          for (let fw = 0; fw < filterWidth; fw += 1) {
            const iw = ow * strideWidth + fw * dilationWidth - left;
            if (iw < 0 || iw >= inWidth) continue;
            const target = ((b * inHeight + ih) * inWidth + iw) * inChannels;
            const source = row + (fh * filterWidth + fw) * inChannels;
            for (let ci = 0; ci < inChannels; ci += 1) out[target + ci]! += col[source + ci]!;
          }
        }
      }
    }
  }
  disposeInfo(backend, columns);
  return dx;
}

/**
 * Replaces the stock wasm kernel, a direct loop (≈1 GMAC/s) that also ignores dilations, with XNNPACK work.
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
  // The flipped convolution produces inChannels outputs per pixel; XNNPACK computes them 8 at a time, so for a
  // first layer on 1-3 channels the matmul + scatter form does less work.
  const byConvolution = info.strideHeight === 1 && info.strideWidth === 1 && info.inChannels >= 8;
  return (
    (byConvolution ? inputGradientByConvolution(backend, dy, filter, info) : undefined) ??
    inputGradientByCol2im(backend, dy, filter, info)
  );
}

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput as unknown as KernelConfig['kernelFunc'],
};
