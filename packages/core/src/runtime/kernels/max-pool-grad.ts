import {
  backend_util,
  type KernelConfig,
  MaxPoolGrad,
  type MaxPoolGradAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { allocateFloat32, heapFloat32, type WasmBackend } from './wasm-access.ts';

/**
 * Routes each output gradient to the first maximum of its window, as the cpu backend does. The stock wasm kernel
 * recomputes every window per input position; this single pass over the output is several times faster.
 */
function maxPoolGrad({
  inputs,
  backend,
  attrs,
}: {
  inputs: { dy: TensorInfo; input: TensorInfo };
  backend: WasmBackend;
  attrs: MaxPoolGradAttrs;
}): TensorInfo {
  const { dy, input } = inputs;
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const dx = allocateFloat32(backend, input.shape);
  const out = heapFloat32(backend, dx);
  const x = heapFloat32(backend, input);
  const grad = heapFloat32(backend, dy);
  out.fill(0);
  // Channels are innermost in NHWC, so each window is scanned as contiguous rows of channels.
  const best = new Float32Array(inChannels);
  const bestIndex = new Int32Array(inChannels);
  for (let b = 0; b < batchSize; b += 1) {
    for (let oh = 0; oh < outHeight; oh += 1) {
      const h0 = oh * strideHeight - top;
      for (let ow = 0; ow < outWidth; ow += 1) {
        const w0 = ow * strideWidth - left;
        best.fill(Number.NEGATIVE_INFINITY);
        bestIndex.fill(-1);
        for (let fh = 0; fh < filterHeight; fh += 1) {
          const ih = h0 + fh;
          if (ih < 0 || ih >= inHeight) continue;
          for (let fw = 0; fw < filterWidth; fw += 1) {
            const iw = w0 + fw;
            if (iw < 0 || iw >= inWidth) continue;
            const base = ((b * inHeight + ih) * inWidth + iw) * inChannels;
            for (let c = 0; c < inChannels; c += 1) {
              const value = x[base + c]!;
              if (value > best[c]!) {
                best[c] = value;
                bestIndex[c] = base + c;
              }
            }
          }
        }
        const dyBase = ((b * outHeight + oh) * outWidth + ow) * inChannels;
        for (let c = 0; c < inChannels; c += 1) {
          const index = bestIndex[c]!;
          if (index >= 0) out[index]! += grad[dyBase + c]!;
        }
      }
    }
  }
  return dx;
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as unknown as KernelConfig['kernelFunc'],
};
