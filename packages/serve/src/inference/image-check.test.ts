import type { PreprocessSpec } from '@tfmlops/data';
import { describe, expect, it } from 'vitest';
import {
  animatedGif,
  animatedPng,
  animatedWebp,
  cmykJpeg,
  colourPng,
  greyAsRgbaPng,
  greyPng,
  multiPageTiff,
  png16,
  pngBomb,
  truncated,
} from '../../../../tests/support/serve/bad-images.ts';
import { halfImage } from '../../../../tests/support/serve/tiny-bundle.ts';
import { HttpError } from '../errors.ts';
import { checkImageHeader } from './image-check.ts';

const GREY: PreprocessSpec = { width: 16, height: 16, channels: 1, resize: 'fit', background: '#000000' };
const RGB: PreprocessSpec = { ...GREY, channels: 3 };
const LIMIT = 1_000_000;

async function refusal(bytes: Uint8Array, spec = GREY, limit = LIMIT): Promise<HttpError> {
  const error = await checkImageHeader(bytes, spec, limit).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HttpError);
  return error as HttpError;
}

describe('checkImageHeader', () => {
  it('accepts PNG, JPEG and WebP grayscale images for a grayscale model', async () => {
    for (const format of ['png', 'jpeg', 'webp'] as const) {
      const header = await checkImageHeader(await halfImage('top', { format }), GREY, LIMIT);
      expect(header).toMatchObject({ format, width: 16, height: 16, frames: 1 });
    }
  });

  it('accepts an RGB(A) file whose channels are equal as grayscale (canvas exports, most editors)', async () => {
    const header = await checkImageHeader(await greyAsRgbaPng(), GREY, LIMIT);
    expect(header.channels).toBe(4);
  });

  it('refuses a decompression bomb from its header, before decoding', async () => {
    const bomb = pngBomb(4000, 4000);
    expect(bomb.length).toBeLessThan(100_000);
    const error = await refusal(bomb);
    expect([error.statusCode, error.code]).toEqual([413, 'IMAGE_TOO_LARGE']);
    expect(error.message).toContain('4000x4000');
    expect(error.message).toContain(String(LIMIT));
  });

  it.each([
    ['an APNG', async () => animatedPng(await greyPng())],
    ['an animated WebP', animatedWebp],
    ['an animated GIF', animatedGif],
    ['a multi-page TIFF', multiPageTiff],
  ])('refuses %s as multi-frame', async (_name, make) => {
    const error = await refusal(await make());
    expect([error.statusCode, error.code]).toEqual([422, 'IMAGE_MULTI_FRAME']);
  });

  it('names 16-bit PNGs, CMYK JPEGs, other formats and undecodable bytes', async () => {
    expect((await refusal(await png16())).code).toBe('IMAGE_16_BIT');
    expect((await refusal(await cmykJpeg())).code).toBe('IMAGE_CMYK');
    const svg = await refusal(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>'));
    expect([svg.statusCode, svg.code]).toEqual([415, 'IMAGE_FORMAT_UNSUPPORTED']);
    const text = await refusal(Buffer.from('hello, this is not an image'));
    expect([text.statusCode, text.code]).toEqual([422, 'IMAGE_UNDECODABLE']);
    expect((await refusal(new Uint8Array(0))).code).toBe('EMPTY_IMAGE');
    // A cut-off header is undecodable; a cut-off body is caught by the decoder later (see the app tests).
    expect((await refusal(truncated(await greyPng(), 0.02))).code).toBe('IMAGE_UNDECODABLE');
  });

  it('refuses colour for a grayscale model and grayscale for a colour model, naming both sides', async () => {
    const colour = await refusal(await colourPng());
    expect(colour.code).toBe('IMAGE_CHANNELS_MISMATCH');
    expect(colour.message).toContain('grayscale');
    const grey = await refusal(await greyPng(), RGB);
    expect(grey.code).toBe('IMAGE_CHANNELS_MISMATCH');
    expect(grey.message).toContain('RGB');
    await expect(checkImageHeader(await colourPng(), RGB, LIMIT)).resolves.toMatchObject({ channels: 3 });
  });
});
