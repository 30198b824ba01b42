import sharp from 'sharp';
import { CorruptImageError } from '../errors.ts';
import type { RawPixels } from '../sources/types.ts';
import { decodeExactPng } from './png-fast-path.ts';
import { imageBytes, type PreprocessSpec } from './spec.ts';

const SHARP_FIT = { fit: 'contain', crop: 'cover', stretch: 'fill' } as const;

/** Input of {@link preprocessImage}: decoded pixels from a source, or the bytes of a JPEG/PNG/WebP/GIF/TIFF file. */
export type ImageInput = RawPixels | Uint8Array;

/**
 * Turns one image into a model input: decode, apply EXIF orientation, flatten transparency onto the background,
 * resize (`fit` letterbox / `crop` centre / `stretch`), convert to grayscale or sRGB, and return HWC uint8 pixels of
 * exactly `spec.height * spec.width * spec.channels` bytes. Training (prepare) and inference (serve) both call this,
 * so a model sees the same pixels in both.
 *
 * JPEG and WebP are shrunk while decoding (libvips shrink-on-load), which is most of the speed on large photos.
 * Throws {@link CorruptImageError} for anything that is not a decodable image; other errors are bugs.
 */
export async function preprocessImage(image: ImageInput, spec: PreprocessSpec): Promise<Uint8Array> {
  const expected = imageBytes(spec);
  let pipeline: sharp.Sharp;
  if (isRawPixels(image)) {
    const { width, height, channels, pixels } = image;
    if (pixels.length !== width * height * channels) {
      throw new CorruptImageError(
        `raw image has ${pixels.length} bytes, expected ${width}x${height}x${channels} = ${width * height * channels}`,
      );
    }
    // Decoded pixels already in the target shape need no work; libvips would return them unchanged anyway.
    if (width === spec.width && height === spec.height && channels === spec.channels) return pixels.slice();
    pipeline = sharp(pixels, { raw: { width, height, channels } });
  } else {
    if (image.length === 0) throw new CorruptImageError('empty image file (0 bytes)');
    // A PNG that already has the target size and channels needs no libvips pipeline (see decodeExactPng).
    const exact = decodeExactPng(image, spec);
    if (exact) return exact;
    // failOn 'warning' turns truncated JPEGs and damaged PNGs into errors instead of half-grey images.
    pipeline = sharp(image, { failOn: 'warning', sequentialRead: true }).rotate();
  }
  const background = parseHexColour(spec.background);
  pipeline = pipeline
    .flatten({ background })
    .resize(spec.width, spec.height, { fit: SHARP_FIT[spec.resize], position: 'centre', background })
    .toColourspace(spec.channels === 1 ? 'b-w' : 'srgb');
  let output: { data: Buffer; info: sharp.OutputInfo };
  try {
    output = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (cause) {
    throw new CorruptImageError(`cannot decode image: ${(cause as Error).message}`, { cause });
  }
  if (output.data.length !== expected || output.info.channels !== spec.channels) {
    // A format libvips decodes oddly (e.g. CMYK with alpha) must not slip through with the wrong layout.
    throw new CorruptImageError(
      `decoded to ${output.info.width}x${output.info.height}x${output.info.channels}, expected ${spec.width}x${spec.height}x${spec.channels}`,
    );
  }
  return new Uint8Array(output.data.buffer, output.data.byteOffset, output.data.length);
}

/**
 * Tunes sharp for many small images: one libvips thread per image and parallelism across images instead (the
 * caller bounds how many run at once), which beats several threads fighting over one 256x256 decode.
 */
export function configureSharpForBatches(): void {
  sharp.concurrency(1);
  // libvips' operation cache only helps when the same pipeline runs on the same input again.
  sharp.cache(false);
}

function isRawPixels(image: ImageInput): image is RawPixels {
  return (image as RawPixels).kind === 'raw' && !(image instanceof Uint8Array);
}

function parseHexColour(hex: string): { r: number; g: number; b: number; alpha: number } {
  const value = Number.parseInt(hex.slice(1), 16);
  return { r: (value >> 16) & 0xff, g: (value >> 8) & 0xff, b: value & 0xff, alpha: 1 };
}
