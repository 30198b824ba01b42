import {
  backend_util,
  type KernelConfig,
  MaxPoolGrad,
  type MaxPoolGradAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { recordKernelPath } from './kernel-paths.ts';
import { allocateFloat32, heapFloat32, heapOffset, simd, type WasmBackend } from './wasm-access.ts';

type PoolInfo = backend_util.Conv2DInfo;

/**
 * Routes each output gradient to the first maximum of its window (row-major), as the cpu backend does. The stock
 * wasm kernel rescans every window per input position; these are single passes over the output.
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
  const dx = allocateFloat32(backend, input.shape);
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const unpadded = info.padInfo.top === 0 && info.padInfo.left === 0;
  const twoByTwo =
    unpadded && filterHeight === 2 && filterWidth === 2 && strideHeight === 2 && strideWidth === 2;
  if (twoByTwo && info.inChannels % 4 === 0) {
    simd(backend).maxPoolGrad2x2(
      heapOffset(backend, input),
      heapOffset(backend, dy),
      heapOffset(backend, dx),
      info.batchSize,
      info.inHeight,
      info.inWidth,
      info.inChannels,
      info.outHeight,
      info.outWidth,
    );
    recordKernelPath(MaxPoolGrad, 'simd-2x2');
    return dx;
  }
  const out = heapFloat32(backend, dx);
  out.fill(0);
  const x = heapFloat32(backend, input);
  const grad = heapFloat32(backend, dy);
  recordKernelPath(MaxPoolGrad, twoByTwo ? 'js-2x2' : 'any-window');
  if (twoByTwo) routeTwoByTwo(x, grad, out, info);
  else routeAnyWindow(x, grad, out, info);
  return dx;
}

/** 2x2 windows, stride 2, no padding: windows are whole and disjoint, so each input gets at most one value. */
function routeTwoByTwo(x: Float32Array, grad: Float32Array, out: Float32Array, info: PoolInfo): void {
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth } = info;
  const rowStride = inWidth * c;
  let g = 0;
  for (let b = 0; b < batchSize; b += 1) {
    for (let oh = 0; oh < outHeight; oh += 1) {
      for (let ow = 0; ow < outWidth; ow += 1) {
        const p00 = ((b * inHeight + oh * 2) * inWidth + ow * 2) * c;
        for (let ch = 0; ch < c; ch += 1, g += 1) {
          const i00 = p00 + ch;
          const i01 = i00 + c;
          const i10 = i00 + rowStride;
          const i11 = i10 + c;
          // Strict compares from -Infinity, as the cpu backend does: NaN and -Infinity never win a window.
          let best = Number.NEGATIVE_INFINITY;
          let index = -1;
          if (x[i00]! > best) {
            best = x[i00]!;
            index = i00;
          }
          if (x[i01]! > best) {
            best = x[i01]!;
            index = i01;
          }
          if (x[i10]! > best) {
            best = x[i10]!;
            index = i10;
          }
          if (x[i11]! > best) index = i11;
          if (index >= 0) out[index] = grad[g]!;
        }
      }
    }
  }
}

function routeAnyWindow(x: Float32Array, grad: Float32Array, out: Float32Array, info: PoolInfo): void {
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  let g = 0;
  for (let b = 0; b < batchSize; b += 1) {
    for (let oh = 0; oh < outHeight; oh += 1) {
      const h0 = Math.max(0, oh * strideHeight - top);
      const h1 = Math.min(inHeight, oh * strideHeight - top + filterHeight);
      for (let ow = 0; ow < outWidth; ow += 1) {
        const w0 = Math.max(0, ow * strideWidth - left);
        const w1 = Math.min(inWidth, ow * strideWidth - left + filterWidth);
        for (let ch = 0; ch < c; ch += 1, g += 1) {
          let best = Number.NEGATIVE_INFINITY;
          let index = -1;
          for (let ih = h0; ih < h1; ih += 1) {
            for (let iw = w0; iw < w1; iw += 1) {
              const i = ((b * inHeight + ih) * inWidth + iw) * c + ch;
              if (x[i]! > best) {
                best = x[i]!;
                index = i;
              }
            }
          }
          // Overlapping windows can pick the same input: gradients add up there.
          if (index >= 0) out[index]! += grad[g]!;
        }
      }
    }
  }
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as unknown as KernelConfig['kernelFunc'],
};
