import type { PreprocessSpec } from '@tfmlops/data';
import sharp from 'sharp';
import { HttpError, unprocessableImage } from '../errors.ts';
import { DamagedHeaderError, type ImageHeaderInfo, readImageHeader } from './image-header.ts';

/** The image formats the service takes (by content, whatever the declared type says). */
export const ACCEPTED_FORMATS = ['png', 'jpeg', 'webp'] as const;

export interface ImageHeader {
  format: string;
  width: number;
  height: number;
  frames: number;
  channels: number;
  colourSpace: string;
}

/**
 * Reads what an image file says about itself, without decoding its pixels, and refuses what must not reach the
 * decoder or the model: unknown formats, more than `maxPixels` (a decompression bomb is a few KB that declares
 * gigapixels), animations and multi-page files, 16-bit samples, CMYK, and a grayscale image for a colour model.
 * Each refusal is a 4xx HttpError naming what was found and how to fix it.
 */
export async function checkImageHeader(
  bytes: Uint8Array,
  spec: PreprocessSpec,
  maxPixels: number,
): Promise<ImageHeader> {
  if (bytes.length === 0) throw new HttpError(400, 'EMPTY_IMAGE', 'the image is empty (0 bytes)');
  const header = await headerOf(bytes);
  const { format, width, height } = header;
  if (!width || !height) {
    throw unprocessableImage('IMAGE_UNDECODABLE', `the ${format ?? 'image'} header declares no size`, {
      hint: 'the file is damaged; send a PNG, JPEG or WebP file',
    });
  }
  const frames = header.frames;
  if (width * height * frames > maxPixels) {
    throw new HttpError(
      413,
      'IMAGE_TOO_LARGE',
      `the image declares ${width}x${height}${frames > 1 ? `x${frames} frames` : ''} = ${width * height * frames} pixels, more than this service's limit of ${maxPixels}`,
      { hint: `downscale it (the model takes ${spec.width}x${spec.height})` },
    );
  }
  if (frames > 1) {
    throw unprocessableImage(
      'IMAGE_MULTI_FRAME',
      `the ${format} image has ${frames > 2 ? frames : 'several'} frames (animated or multi-page); which one to classify is ambiguous`,
      { hint: 'send one frame as a still PNG, JPEG or WebP' },
    );
  }
  if (!format || !(ACCEPTED_FORMATS as readonly string[]).includes(format)) {
    throw new HttpError(
      415,
      'IMAGE_FORMAT_UNSUPPORTED',
      `${format ?? 'this'} images are not accepted; the service takes ${ACCEPTED_FORMATS.join(', ')}`,
      { hint: 'convert the image to PNG' },
    );
  }
  if (header.bitsPerSample > 8) {
    throw unprocessableImage(
      'IMAGE_16_BIT',
      `the ${format} image has ${header.bitsPerSample}-bit samples; the model was trained on 8-bit images`,
      { hint: 'save it with 8 bits per channel' },
    );
  }
  const { colourSpace, channels } = header;
  if (colourSpace === 'cmyk') {
    throw unprocessableImage(
      'IMAGE_CMYK',
      `the ${format} image is CMYK (print colours); the model takes ${spec.channels === 1 ? 'grayscale' : 'RGB'} images`,
      { hint: 'convert it to sRGB' },
    );
  }
  const grey = colourSpace === 'b-w' || colourSpace === 'grey16';
  if (spec.channels === 3 && grey) {
    throw unprocessableImage(
      'IMAGE_CHANNELS_MISMATCH',
      `the image is grayscale (${channels} channel${channels === 1 ? '' : 's'}) but the model takes RGB images`,
      { hint: 'send a colour image; the model was trained on RGB' },
    );
  }
  if (spec.channels === 1 && !grey && (await hasColour(bytes))) {
    throw unprocessableImage(
      'IMAGE_CHANNELS_MISMATCH',
      `the image has colour (${colourSpace}, ${channels} channels, with red, green and blue differing) but the model takes grayscale images`,
      {
        hint: 'convert it to grayscale first; an RGB file whose channels are equal is accepted as grayscale',
      },
    );
  }
  return { format, width, height, frames, channels, colourSpace };
}

/** Side of the thumbnail the colour test looks at: enough to see strokes, cheap to decode. */
const COLOUR_PROBE_SIZE = 64;
/** A pixel is coloured when two of its channels differ by more than this (JPEG chroma noise stays well below). */
const COLOUR_TOLERANCE = 32;
/** An image has colour when more than this fraction of its thumbnail pixels is coloured. */
const COLOURED_FRACTION = 0.01;

/**
 * Whether an RGB(A) file really holds colour. Many grayscale images are stored as RGB (canvas exports, most
 * editors, JPEG encoders); those are what a grayscale model expects and are accepted.
 */
async function hasColour(bytes: Uint8Array): Promise<boolean> {
  let data: Buffer;
  try {
    data = await sharp(bytes, { failOn: 'warning' })
      .resize(COLOUR_PROBE_SIZE, COLOUR_PROBE_SIZE, { fit: 'inside' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer();
  } catch (cause) {
    throw unprocessableImage('IMAGE_UNDECODABLE', `cannot decode image: ${(cause as Error).message}`, {
      cause,
      hint: 'the file is damaged or truncated; send it again',
    });
  }
  let coloured = 0;
  for (let i = 0; i + 2 < data.length; i += 3) {
    const r = data[i] as number;
    const g = data[i + 1] as number;
    const b = data[i + 2] as number;
    if (Math.max(r, g, b) - Math.min(r, g, b) > COLOUR_TOLERANCE) coloured += 1;
  }
  return coloured > COLOURED_FRACTION * (data.length / 3);
}

interface Header {
  format: string | undefined;
  width: number;
  height: number;
  frames: number;
  channels: number;
  colourSpace: string;
  bitsPerSample: number;
}

/**
 * PNG, JPEG and WebP headers are read in JavaScript (see image-header.ts); anything else goes to libvips, so that
 * other formats (GIF, TIFF, SVG, AVIF...) are named in the refusal, and non-images are told apart from them.
 */
async function headerOf(bytes: Uint8Array): Promise<Header> {
  let info: ImageHeaderInfo | undefined;
  try {
    info = readImageHeader(bytes);
  } catch (error) {
    if (!(error instanceof DamagedHeaderError)) throw error;
    throw unprocessableImage('IMAGE_UNDECODABLE', `damaged image header: ${error.message}`, {
      hint: 'the file is damaged or truncated; send it again',
    });
  }
  if (info) {
    return {
      format: info.format,
      width: info.width,
      height: info.height,
      frames: info.animated ? 2 : 1,
      channels: info.channels,
      colourSpace: info.space,
      bitsPerSample: info.bitsPerSample,
    };
  }
  let metadata: sharp.Metadata;
  try {
    metadata = await sharp(bytes).metadata();
  } catch (cause) {
    throw unprocessableImage(
      'IMAGE_UNDECODABLE',
      `not a readable image: ${(cause as Error).message.split('\n')[0]}`,
      { cause, hint: 'send a PNG, JPEG or WebP file' },
    );
  }
  return {
    format: metadata.format,
    width: metadata.width ?? 0,
    height: metadata.height ?? 0,
    frames: metadata.pages ?? 1,
    channels: metadata.channels ?? 0,
    colourSpace: metadata.space ?? 'unknown',
    bitsPerSample: metadata.depth && metadata.depth !== 'uchar' ? 16 : 8,
  };
}
