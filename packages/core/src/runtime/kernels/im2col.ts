import type { backend_util } from '@tensorflow/tfjs-core';

type ConvInfo = backend_util.Conv2DInfo;

/**
 * Transposed patch matrix: one row per filter tap (kh, kw, ci), one column per output position (b, oh, ow).
 * Reads the input channel-major ([inC, batch, H, W], `xChannelMajor`) so that every write and, at stride 1, every
 * read runs along a contiguous row.
 */
export function writePatchColumns(xChannelMajor: Float32Array, info: ConvInfo, out: Float32Array): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const { top, left } = info.padInfo;
  const n = batchSize * outHeight * outWidth;
  const plane = inHeight * inWidth;
  // The range of ow whose input column is inside the image, per kw; outside it the tap reads padding.
  for (let kh = 0; kh < filterHeight; kh += 1) {
    for (let kw = 0; kw < filterWidth; kw += 1) {
      const offset = kw * dilationWidth - left;
      const owFirst = Math.max(0, Math.ceil(-offset / strideWidth));
      const owEnd = Math.min(outWidth, Math.floor((inWidth - 1 - offset) / strideWidth) + 1);
      for (let ci = 0; ci < inChannels; ci += 1) {
        const rowStart = ((kh * filterWidth + kw) * inChannels + ci) * n;
        for (let b = 0; b < batchSize; b += 1) {
          const image = (ci * batchSize + b) * plane;
          for (let oh = 0; oh < outHeight; oh += 1) {
            const target = rowStart + (b * outHeight + oh) * outWidth;
            const ih = oh * strideHeight + kh * dilationHeight - top;
            if (ih < 0 || ih >= inHeight || owEnd <= owFirst) {
              out.fill(0, target, target + outWidth);
              continue;
            }
            if (owFirst > 0) out.fill(0, target, target + owFirst);
            if (owEnd < outWidth) out.fill(0, target + owEnd, target + outWidth);
            const source = image + ih * inWidth + offset;
            if (strideWidth === 1) {
              for (let ow = owFirst; ow < owEnd; ow += 1) out[target + ow] = xChannelMajor[source + ow]!;
            } else {
              for (let ow = owFirst; ow < owEnd; ow += 1)
                out[target + ow] = xChannelMajor[source + ow * strideWidth]!;
            }
          }
        }
      }
    }
  }
}
