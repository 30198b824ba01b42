import { crc32, inflateSync } from 'node:zlib';
import type { PreprocessSpec } from './spec.ts';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** PNG colour types this path decodes, by the channel count they give: grayscale (0) and truecolour (2). */
const COLOUR_TYPE_FOR_CHANNELS: Record<number, number> = { 1: 0, 3: 2 };
/**
 * Chunks that change nothing libvips would do to the pixels. Any other chunk (gAMA, cHRM, iCCP, sBIT, tRNS, eXIf,
 * bKGD, acTL, ...) sends the file down the general path.
 */
const NEUTRAL_CHUNKS = new Set(['IHDR', 'IDAT', 'IEND', 'tEXt', 'zTXt', 'iTXt', 'tIME', 'pHYs']);
/** Above this many pixels libvips' threaded decode beats a main-thread JS one. */
const MAX_FAST_PIXELS = 256 * 256;

/**
 * The pixels of a PNG that already is exactly what `spec` asks for (8-bit, not interlaced, grayscale for a
 * 1-channel spec or RGB for a 3-channel one, at the spec's width and height, with no chunk that would alter its
 * pixels), decoded in JavaScript; undefined for anything else, which then takes the general sharp path.
 *
 * For such a file every step of the general path (EXIF rotation, flattening alpha, resizing, colour conversion) is
 * the identity, so both paths give the same bytes (tested on random images); this one skips libvips' fixed cost per
 * image, which dominates for small images such as MNIST's 28x28 digits. Damaged files (a bad CRC, short or
 * oversized image data, an unknown row filter) are left to the general path so that its errors stay the only ones.
 */
export function decodeExactPng(bytes: Uint8Array, spec: PreprocessSpec): Uint8Array | undefined {
  if (bytes.length < 8 + 25 || SIGNATURE.some((value, i) => bytes[i] !== value)) return undefined;
  if (spec.width * spec.height > MAX_FAST_PIXELS) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const channels = spec.channels;
  const idat: Uint8Array[] = [];
  let offset = 8;
  let sawHeader = false;
  let ended = false;
  while (offset + 12 <= bytes.length) {
    const length = view.getUint32(offset);
    const dataStart = offset + 8;
    const dataEnd = dataStart + length;
    if (length > bytes.length || dataEnd + 4 > bytes.length) return undefined;
    const type = String.fromCharCode(
      bytes[offset + 4]!,
      bytes[offset + 5]!,
      bytes[offset + 6]!,
      bytes[offset + 7]!,
    );
    if (!NEUTRAL_CHUNKS.has(type)) return undefined;
    if (crc32(bytes.subarray(offset + 4, dataEnd)) !== view.getUint32(dataEnd)) return undefined;
    if (!sawHeader) {
      if (type !== 'IHDR' || length !== 13) return undefined;
      const width = view.getUint32(dataStart);
      const height = view.getUint32(dataStart + 4);
      const [depth, colourType, compression, filter, interlace] = bytes.subarray(
        dataStart + 8,
        dataStart + 13,
      );
      if (width !== spec.width || height !== spec.height || depth !== 8) return undefined;
      if (
        colourType !== COLOUR_TYPE_FOR_CHANNELS[channels] ||
        compression !== 0 ||
        filter !== 0 ||
        interlace !== 0
      )
        return undefined;
      sawHeader = true;
    } else if (type === 'IDAT') {
      idat.push(bytes.subarray(dataStart, dataEnd));
    } else if (type === 'IEND') {
      ended = true;
      break;
    }
    offset = dataEnd + 4;
  }
  if (!sawHeader || !ended || idat.length === 0) return undefined;
  const stride = spec.width * channels;
  let raw: Buffer;
  try {
    raw = inflateSync(idat.length === 1 ? idat[0]! : Buffer.concat(idat));
  } catch {
    return undefined;
  }
  if (raw.length !== spec.height * (stride + 1)) return undefined;
  return unfilter(raw, spec.height, stride, channels);
}

/** Undoes PNG's per-row filters (None, Sub, Up, Average, Paeth) for 8-bit samples. */
function unfilter(raw: Uint8Array, height: number, stride: number, bpp: number): Uint8Array | undefined {
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y += 1) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    const prev = row - stride;
    for (let x = 0; x < stride; x += 1) {
      const value = raw[src + x]!;
      const left = x >= bpp ? out[row + x - bpp]! : 0;
      const up = y > 0 ? out[prev + x]! : 0;
      const upLeft = y > 0 && x >= bpp ? out[prev + x - bpp]! : 0;
      let predicted: number;
      switch (filter) {
        case 0:
          predicted = 0;
          break;
        case 1:
          predicted = left;
          break;
        case 2:
          predicted = up;
          break;
        case 3:
          predicted = (left + up) >> 1;
          break;
        case 4: {
          const p = left + up - upLeft;
          const pa = Math.abs(p - left);
          const pb = Math.abs(p - up);
          const pc = Math.abs(p - upLeft);
          predicted = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
          break;
        }
        default:
          return undefined;
      }
      out[row + x] = (value + predicted) & 0xff;
    }
  }
  return out;
}
