import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { heapFloat32, heapOffset, simd, type WasmBackend } from './wasm-access.ts';

type ConvInfo = backend_util.Conv2DInfo;

/** Output positions [first, end) along one axis whose input index o·stride + tap·dilation − pad is in [0, size). */
function validRange(out: number, size: number, stride: number, tapOffset: number): [number, number] {
  const first = tapOffset >= 0 ? 0 : Math.ceil(-tapOffset / stride);
  const last = size - 1 - tapOffset;
  const end = last < 0 ? 0 : Math.floor(last / stride) + 1;
  return [Math.min(first, out), Math.min(end, out)];
}

interface Tap {
  kh: number;
  kw: number;
  oh: [number, number];
  ow: [number, number];
  /** Input row and column of the first valid output position. */
  ih: number;
  iw: number;
}

function taps(info: ConvInfo): { taps: Tap[]; partial: boolean } {
  const list: Tap[] = [];
  let partial = false;
  for (let kh = 0; kh < info.filterHeight; kh += 1) {
    const hOffset = kh * info.dilationHeight - info.padInfo.top;
    const oh = validRange(info.outHeight, info.inHeight, info.strideHeight, hOffset);
    for (let kw = 0; kw < info.filterWidth; kw += 1) {
      const wOffset = kw * info.dilationWidth - info.padInfo.left;
      const ow = validRange(info.outWidth, info.inWidth, info.strideWidth, wOffset);
      partial ||= oh[0] > 0 || oh[1] < info.outHeight || ow[0] > 0 || ow[1] < info.outWidth;
      if (oh[1] <= oh[0] || ow[1] <= ow[0]) continue;
      list.push({
        kh,
        kw,
        oh,
        ow,
        ih: oh[0] * info.strideHeight + hOffset,
        iw: ow[0] * info.strideWidth + wOffset,
      });
    }
  }
  return { taps: list, partial };
}

/**
 * Transposed patch matrix [K = fh·fw·inC, N = batch·outH·outW] (rows in filter-layout order (kh, kw, ci), columns
 * (b, oh, ow)) from the input in channel-major layout [inC, batch, H, W]: per filter tap, one SIMD block copy whose
 * runs are output rows. Taps in the padding stay zero.
 */
export function writePatchColumns(
  backend: WasmBackend,
  xChannelMajor: TensorInfo,
  info: ConvInfo,
  out: TensorInfo,
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterWidth } = info;
  const { strideHeight, strideWidth } = info;
  const n = batchSize * outHeight * outWidth;
  const { taps: list, partial } = taps(info);
  if (partial) heapFloat32(backend, out).fill(0);
  const kernels = simd(backend);
  const src = heapOffset(backend, xChannelMajor);
  const dst = heapOffset(backend, out);
  for (const { kh, kw, oh, ow, ih, iw } of list) {
    const rows = oh[1] - oh[0];
    const cols = ow[1] - ow[0];
    const source = src + 4 * (ih * inWidth + iw);
    const target = dst + 4 * ((kh * filterWidth + kw) * inChannels * n + oh[0] * outWidth + ow[0]);
    const [n2, ss2, run] = strideWidth === 1 ? [1, 0, cols] : [cols, strideWidth, 1];
    kernels.copyRuns(
      source,
      target,
      inChannels * batchSize,
      inHeight * inWidth,
      outHeight * outWidth,
      rows,
      strideHeight * inWidth,
      outWidth,
      n2,
      ss2,
      1,
      run,
    );
  }
}

/**
 * col2im: dx[b, ih, iw, ci] = Σ over taps of columns[(b, oh, ow), (kh, kw, ci)], the columns being dy · Wᵀ
 * [N, K]. Per filter tap, one SIMD block add whose runs are the inC channels of a pixel.
 */
export function addPatchRows(
  backend: WasmBackend,
  columns: TensorInfo,
  info: ConvInfo,
  dx: TensorInfo,
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterWidth, filterHeight } = info;
  const { strideHeight, strideWidth } = info;
  const k = filterHeight * filterWidth * inChannels;
  heapFloat32(backend, dx).fill(0);
  const kernels = simd(backend);
  const src = heapOffset(backend, columns);
  const dst = heapOffset(backend, dx);
  for (const { kh, kw, oh, ow, ih, iw } of taps(info).taps) {
    kernels.addRuns(
      src + 4 * ((oh[0] * outWidth + ow[0]) * k + (kh * filterWidth + kw) * inChannels),
      dst + 4 * (ih * inWidth + iw) * inChannels,
      batchSize,
      outHeight * outWidth * k,
      inHeight * inWidth * inChannels,
      oh[1] - oh[0],
      outWidth * k,
      strideHeight * inWidth * inChannels,
      ow[1] - ow[0],
      k,
      strideWidth * inChannels,
      inChannels,
    );
  }
}

/**
 * Patch matrix [N = batch·outH·outW, K = fh·fw·inC] (rows (b, oh, ow), columns in filter-layout order
 * (kh, kw, ci)) from an NHWC input: per filter tap, one SIMD block copy whose runs are a pixel's inC channels.
 * Taps in the padding stay zero.
 */
export function writePatchRows(backend: WasmBackend, x: TensorInfo, info: ConvInfo, out: TensorInfo): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterWidth, filterHeight } = info;
  const { strideHeight, strideWidth } = info;
  const k = filterHeight * filterWidth * inChannels;
  const { taps: list, partial } = taps(info);
  if (partial) heapFloat32(backend, out).fill(0);
  const kernels = simd(backend);
  const src = heapOffset(backend, x);
  const dst = heapOffset(backend, out);
  for (const { kh, kw, oh, ow, ih, iw } of list) {
    kernels.copyRuns(
      src + 4 * (ih * inWidth + iw) * inChannels,
      dst + 4 * ((oh[0] * outWidth + ow[0]) * k + (kh * filterWidth + kw) * inChannels),
      batchSize,
      inHeight * inWidth * inChannels,
      outHeight * outWidth * k,
      oh[1] - oh[0],
      strideHeight * inWidth * inChannels,
      outWidth * k,
      ow[1] - ow[0],
      strideWidth * inChannels,
      k,
      inChannels,
    );
  }
}
