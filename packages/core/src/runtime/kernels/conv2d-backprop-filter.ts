import {
  backend_util,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropFilterInputs,
  type KernelConfig,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { allocateFloat32, disposeInfo, heapFloat32, runWasmKernel, type WasmBackend } from './wasm-access.ts';

/**
 * dW = im2col(x)^T · dy as one matrix product on the wasm heap.
 *
 * The im2col matrix is written already transposed, [K = fh*fw*inC, N = batch*outH*outW], so the product
 * [K, N] x [N, outC] needs no transpose kernel, and dy (NHWC) is used as [N, outC] without a copy. K's order
 * (fh, fw, inC) matches the filter layout [fh, fw, inC, outC], so the result is reshaped, not permuted.
 */
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
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const k = filterHeight * filterWidth * inChannels;
  const n = batchSize * outHeight * outWidth;

  const columns = allocateFloat32(backend, [1, k, n]);
  const xValues = heapFloat32(backend, x);
  const col = heapFloat32(backend, columns);
  for (let fh = 0; fh < filterHeight; fh += 1) {
    for (let fw = 0; fw < filterWidth; fw += 1) {
      const rowBase = (fh * filterWidth + fw) * inChannels;
      for (let b = 0; b < batchSize; b += 1) {
        for (let oh = 0; oh < outHeight; oh += 1) {
          const ih = oh * strideHeight + fh * dilationHeight - top;
          const colBase = (b * outHeight + oh) * outWidth;
          if (ih < 0 || ih >= inHeight) {
            for (let ci = 0; ci < inChannels; ci += 1)
              col.fill(0, (rowBase + ci) * n + colBase, (rowBase + ci) * n + colBase + outWidth);
            continue;
          }
          const xRow = (b * inHeight + ih) * inWidth;
          for (let ow = 0; ow < outWidth; ow += 1) {
            const iw = ow * strideWidth + fw * dilationWidth - left;
            const target = colBase + ow;
            if (iw < 0 || iw >= inWidth) {
              for (let ci = 0; ci < inChannels; ci += 1) col[(rowBase + ci) * n + target] = 0;
            } else {
              const source = (xRow + iw) * inChannels;
              for (let ci = 0; ci < inChannels; ci += 1)
                col[(rowBase + ci) * n + target] = xValues[source + ci]!;
            }
          }
        }
      }
    }
  }
  const dy3d = runWasmKernel(backend, 'Reshape', { x: dy }, { shape: [1, n, outChannels] });
  const product = runWasmKernel(
    backend,
    'BatchMatMul',
    { a: columns, b: dy3d },
    { transposeA: false, transposeB: false },
  );
  disposeInfo(backend, columns);
  disposeInfo(backend, dy3d);
  const result = runWasmKernel(backend, 'Reshape', { x: product }, { shape: filterShape });
  disposeInfo(backend, product);
  return result;
}

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter as unknown as KernelConfig['kernelFunc'],
};
