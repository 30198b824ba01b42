import {
  backend_util,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { allocateFloat32, disposeInfo, heapFloat32, runWasmKernel, type WasmBackend } from './wasm-access.ts';

/**
 * dx = col2im(dy · W^T). The stock wasm kernel is a direct loop (≈1 GMAC/s); this form puts the work in one
 * XNNPACK matmul [N, outC] x [outC, K] and leaves a cheap scatter-add, and it honours dilations, which the stock
 * kernel ignores.
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
  const top = info.padInfo.top;
  const left = info.padInfo.left;
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

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput as unknown as KernelConfig['kernelFunc'],
};
