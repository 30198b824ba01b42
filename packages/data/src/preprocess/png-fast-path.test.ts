import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it, vi } from 'vitest';
import { decodeExactPng } from './png-fast-path.ts';
import { preprocessImage } from './preprocess-image.ts';
import { type PreprocessSpec, preprocessSpecSchema } from './spec.ts';

const decoded = vi.hoisted(() => ({ count: 0 }));
vi.mock('./png-fast-path.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('./png-fast-path.ts')>();
  return {
    decodeExactPng: (...args: Parameters<typeof original.decodeExactPng>) => {
      const pixels = original.decodeExactPng(...args);
      if (pixels) decoded.count += 1;
      return pixels;
    },
  };
});

const specFor = (width: number, height: number, channels: 1 | 3): PreprocessSpec =>
  preprocessSpecSchema.parse({ width, height, channels });

/** Deterministic pixels mixing smooth gradients and noise, so PNG encoders pick every row filter. */
function pixelsFor(width: number, height: number, channels: number, seed: number): Buffer {
  const out = Buffer.alloc(width * height * channels);
  let state = seed;
  for (let i = 0; i < out.length; i += 1) {
    state = (state * 1103515245 + 12345) >>> 0;
    const x = (i / channels) % width;
    const y = Math.floor(i / channels / width);
    out[i] = (i % 7 === 0 ? state >>> 24 : x * 9 + y * 5 + (i % channels) * 40) & 0xff;
  }
  return out;
}

/** The general path, step by step as preprocessImage runs it, for comparison. */
async function generalPath(png: Buffer, spec: PreprocessSpec): Promise<Uint8Array> {
  return sharp(png, { failOn: 'warning', sequentialRead: true })
    .rotate()
    .flatten({ background: '#000000' })
    .resize(spec.width, spec.height, { fit: 'contain', position: 'centre', background: '#000000' })
    .toColourspace(spec.channels === 1 ? 'b-w' : 'srgb')
    .raw({ depth: 'uchar' })
    .toBuffer();
}

describe('decodeExactPng', () => {
  it('gives the bytes of the general sharp path for grayscale and RGB PNGs of many sizes and encodings', async () => {
    let checked = 0;
    for (const [width, height] of [
      [1, 1],
      [3, 7],
      [28, 28],
      [40, 33],
      [64, 5],
    ] as const) {
      for (const channels of [1, 3] as const) {
        for (const [level, adaptiveFiltering] of [
          [0, false],
          [6, true],
          [9, true],
        ] as const) {
          const pixels = pixelsFor(width, height, channels, width * 31 + height + level);
          const png = await sharp(pixels, { raw: { width, height, channels } })
            .toColourspace(channels === 1 ? 'b-w' : 'srgb')
            .png({ compressionLevel: level, adaptiveFiltering })
            .toBuffer();
          const spec = specFor(width, height, channels);
          const fast = decodeExactPng(png, spec);
          expect(fast, `${width}x${height}x${channels} level ${level}`).toBeDefined();
          expect(Buffer.from(fast!).equals(pixels)).toBe(true);
          expect(Buffer.from(await generalPath(png, spec)).equals(pixels)).toBe(true);
          checked += 1;
        }
      }
    }
    expect(checked).toBe(30);
  });

  it('decodes all five row filters', async () => {
    // Hand-filtered rows: filter type t on row t, so every filter's arithmetic is exercised once.
    const width = 4;
    const rows = [
      [0, 10, 20, 30, 40],
      [1, 5, 5, 5, 5],
      [2, 1, 2, 3, 4],
      [3, 7, 7, 7, 7],
      [4, 9, 8, 7, 6],
    ];
    const header = Buffer.alloc(13);
    header.writeUInt32BE(width, 0);
    header.writeUInt32BE(rows.length, 4);
    header[8] = 8;
    const png = pngOf([
      ['IHDR', header],
      ['IDAT', deflateSync(Buffer.from(rows.flat()))],
      ['IEND', Buffer.alloc(0)],
    ]);
    const out = decodeExactPng(png, specFor(width, rows.length, 1));
    // Expected values worked out by hand from the PNG specification's filter definitions.
    const expected = [10, 20, 30, 40, 5, 10, 15, 20, 6, 12, 18, 24, 10, 18, 25, 31, 19, 27, 34, 40];
    expect(Array.from(out!)).toEqual(expected);
    expect(Array.from(await generalPath(png, specFor(width, rows.length, 1)))).toEqual(expected);
  });

  it('leaves everything else to the general path', async () => {
    const pixels = pixelsFor(8, 8, 3, 1);
    const rgb = await sharp(pixels, { raw: { width: 8, height: 8, channels: 3 } })
      .png()
      .toBuffer();
    const grey = await sharp(pixelsFor(8, 8, 1, 2), { raw: { width: 8, height: 8, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    const cases: Array<[string, Buffer, PreprocessSpec]> = [
      ['another size', rgb, specFor(16, 16, 3)],
      ['RGB for a grayscale spec', rgb, specFor(8, 8, 1)],
      ['grayscale for an RGB spec', grey, specFor(8, 8, 3)],
      ['16-bit', await sharp(grey).toColourspace('grey16').png().toBuffer(), specFor(8, 8, 1)],
      [
        'a palette',
        await sharp(pixels, { raw: { width: 8, height: 8, channels: 3 } })
          .png({ palette: true })
          .toBuffer(),
        specFor(8, 8, 3),
      ],
      ['interlaced', await sharp(rgb).png({ progressive: true }).toBuffer(), specFor(8, 8, 3)],
      ['with alpha', await sharp(rgb).ensureAlpha().png().toBuffer(), specFor(8, 8, 3)],
      ['with an ICC profile', await sharp(rgb).withIccProfile('srgb').png().toBuffer(), specFor(8, 8, 3)],
      ['with a bad CRC', flipByte(rgb, 30), specFor(8, 8, 3)],
      ['truncated', rgb.subarray(0, rgb.length - 20), specFor(8, 8, 3)],
      ['a JPEG', await sharp(rgb).jpeg().toBuffer(), specFor(8, 8, 3)],
    ];
    for (const [name, bytes, spec] of cases) expect(decodeExactPng(bytes, spec), name).toBeUndefined();
  });

  it('is what preprocessImage uses for exact-size PNGs, and only for them', async () => {
    const pixels = pixelsFor(28, 28, 1, 3);
    const png = await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    decoded.count = 0;
    expect(Buffer.from(await preprocessImage(png, specFor(28, 28, 1))).equals(pixels)).toBe(true);
    expect(decoded.count).toBe(1);
    await preprocessImage(png, specFor(14, 14, 1));
    expect(decoded.count).toBe(1);
  });
});

function flipByte(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = (copy[at] as number) ^ 0xff;
  return copy;
}

function pngOf(chunks: Array<[string, Buffer]>): Buffer {
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])];
  for (const [type, data] of chunks) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    parts.push(length, body, crc);
  }
  return Buffer.concat(parts);
}
