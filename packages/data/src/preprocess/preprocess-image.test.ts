import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { CorruptImageError } from '../errors.ts';
import { preprocessImage } from './preprocess-image.ts';
import { type PreprocessSpecInput, preprocessSpecSchema } from './spec.ts';

const spec = (input: PreprocessSpecInput) => preprocessSpecSchema.parse(input);

/** A width x height RGB image whose left `split` columns are `left` and the rest `right`. */
function twoTone(width: number, height: number, split: number, left: number[], right: number[]): Uint8Array {
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) pixels.set(x < split ? left : right, (y * width + x) * 3);
  }
  return pixels;
}

const RED = [255, 0, 0];
const BLUE = [0, 0, 255];
const WHITE = [255, 255, 255];
const px = (out: Uint8Array, width: number, x: number, y: number, channels = 3) =>
  Array.from(out.subarray((y * width + x) * channels, (y * width + x + 1) * channels));

describe('preprocessImage', () => {
  it('letterboxes with the background colour in fit mode', async () => {
    const png = await sharp(twoTone(40, 20, 40, WHITE, WHITE), {
      raw: { width: 40, height: 20, channels: 3 },
    })
      .png()
      .toBuffer();
    const out = await preprocessImage(
      png,
      spec({ width: 20, height: 20, channels: 3, resize: 'fit', background: '#102030' }),
    );
    expect(out.length).toBe(20 * 20 * 3);
    expect(px(out, 20, 10, 0)).toEqual([0x10, 0x20, 0x30]); // padding above
    expect(px(out, 20, 10, 19)).toEqual([0x10, 0x20, 0x30]); // padding below
    expect(px(out, 20, 10, 10)).toEqual(WHITE); // the image itself
  });

  it('cuts the centre in crop mode and fills the whole frame', async () => {
    // 40 wide: red | white (20 columns in the middle) | blue; the centre crop of 20x20 is all white.
    const pixels = twoTone(40, 20, 10, RED, WHITE);
    for (let y = 0; y < 20; y += 1) for (let x = 30; x < 40; x += 1) pixels.set(BLUE, (y * 40 + x) * 3);
    const png = await sharp(pixels, { raw: { width: 40, height: 20, channels: 3 } })
      .png()
      .toBuffer();
    const out = await preprocessImage(png, spec({ width: 10, height: 10, channels: 3, resize: 'crop' }));
    expect(out.length).toBe(10 * 10 * 3);
    for (const [x, y] of [
      [1, 1],
      [5, 5],
      [8, 8],
    ] as const) {
      expect(px(out, 10, x, y)).toEqual(WHITE);
    }
  });

  it('stretches to the exact size without keeping the aspect ratio', async () => {
    const raw = {
      kind: 'raw' as const,
      width: 40,
      height: 10,
      channels: 3 as const,
      pixels: twoTone(40, 10, 20, RED, BLUE),
    };
    const out = await preprocessImage(raw, spec({ width: 8, height: 8, channels: 3, resize: 'stretch' }));
    expect(px(out, 8, 0, 4)).toEqual(RED);
    expect(px(out, 8, 7, 4)).toEqual(BLUE);
  });

  it('converts colour to one grayscale channel and grayscale to three equal channels', async () => {
    const red = await sharp(twoTone(8, 8, 8, RED, RED), { raw: { width: 8, height: 8, channels: 3 } })
      .jpeg()
      .toBuffer();
    const gray = await preprocessImage(red, spec({ width: 4, height: 4, channels: 1 }));
    expect(gray.length).toBe(16);
    expect(gray[0]).toBeGreaterThan(30); // red has some luminance
    expect(gray[0]).toBeLessThan(150);

    const grayPng = await sharp(new Uint8Array(64).fill(200), { raw: { width: 8, height: 8, channels: 1 } })
      .png()
      .toBuffer();
    const rgb = await preprocessImage(grayPng, spec({ width: 8, height: 8, channels: 3 }));
    expect(rgb.length).toBe(8 * 8 * 3);
    expect(px(rgb, 8, 3, 3)).toEqual([200, 200, 200]);
  });

  it('applies the EXIF orientation of a JPEG before resizing', async () => {
    // Stored 20x10, left half red; orientation 6 means "rotate 90 degrees clockwise to display": red ends on top.
    const jpeg = await sharp(twoTone(20, 10, 10, RED, BLUE), { raw: { width: 20, height: 10, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect((await sharp(jpeg).metadata()).orientation).toBe(6);
    const out = await preprocessImage(jpeg, spec({ width: 10, height: 20, channels: 3, resize: 'stretch' }));
    const top = px(out, 10, 5, 2);
    const bottom = px(out, 10, 5, 17);
    expect(top[0]).toBeGreaterThan(200);
    expect(top[2]).toBeLessThan(60);
    expect(bottom[2]).toBeGreaterThan(200);
    expect(bottom[0]).toBeLessThan(60);
  });

  it('flattens transparency onto the background and reads WebP', async () => {
    const rgba = new Uint8Array(4 * 4 * 4); // fully transparent
    const png = await sharp(rgba, { raw: { width: 4, height: 4, channels: 4 } })
      .png()
      .toBuffer();
    const out = await preprocessImage(png, spec({ width: 4, height: 4, channels: 3, background: '#ffffff' }));
    expect(px(out, 4, 1, 1)).toEqual(WHITE);

    const webp = await sharp(twoTone(16, 16, 16, BLUE, BLUE), { raw: { width: 16, height: 16, channels: 3 } })
      .webp({ lossless: true })
      .toBuffer();
    expect(px(await preprocessImage(webp, spec({ width: 4, height: 4, channels: 3 })), 4, 2, 2)).toEqual(
      BLUE,
    );
  });

  it('returns raw pixels already in the target shape unchanged', async () => {
    const pixels = Uint8Array.from({ length: 28 * 28 }, (_, i) => (i * 37) % 256);
    const out = await preprocessImage(
      { kind: 'raw', width: 28, height: 28, channels: 1, pixels },
      spec({ width: 28, height: 28, channels: 1 }),
    );
    expect(Array.from(out)).toEqual(Array.from(pixels));
    expect(out).not.toBe(pixels); // a copy: callers may reuse their buffer
  });

  it('throws CorruptImageError for garbage, truncated, empty and mis-sized input', async () => {
    const s = spec({ width: 8, height: 8, channels: 3 });
    const jpeg = await sharp(twoTone(64, 64, 32, RED, BLUE), { raw: { width: 64, height: 64, channels: 3 } })
      .jpeg()
      .toBuffer();
    const inputs = [
      Buffer.from('definitely not an image'),
      jpeg.subarray(0, Math.floor(jpeg.length / 2)),
      Buffer.alloc(0),
      { kind: 'raw' as const, width: 4, height: 4, channels: 3 as const, pixels: new Uint8Array(10) },
    ];
    for (const input of inputs) {
      const error = await preprocessImage(input, s).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CorruptImageError);
      expect((error as CorruptImageError).code).toBe('DATA_CORRUPT_IMAGE');
    }
  });
});
