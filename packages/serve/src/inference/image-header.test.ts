import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { animatedPng, animatedWebp, cmykJpeg, png16 } from '../../../../tests/support/serve/bad-images.ts';
import { DamagedHeaderError, readImageHeader } from './image-header.ts';

const raw = (width: number, height: number, channels: 1 | 3 | 4) =>
  sharp(Buffer.from(Array.from({ length: width * height * channels }, (_, i) => (i * 37) % 256)), {
    raw: { width, height, channels },
  });

/** Files of every kind the service accepts, each with what libvips says about it. */
async function samples(): Promise<Array<[string, Buffer]>> {
  return [
    ['grey png', await raw(13, 7, 1).toColourspace('b-w').png().toBuffer()],
    ['rgb png', await raw(9, 21, 3).png().toBuffer()],
    ['rgba png', await raw(5, 6, 4).png().toBuffer()],
    ['palette png', await raw(30, 10, 3).png({ palette: true }).toBuffer()],
    ['16-bit png', await png16()],
    ['grey jpeg', await raw(40, 17, 1).toColourspace('b-w').jpeg().toBuffer()],
    ['rgb jpeg', await raw(33, 65, 3).jpeg().toBuffer()],
    [
      'progressive jpeg with exif',
      await raw(24, 12, 3).jpeg({ progressive: true }).withMetadata({ orientation: 6 }).toBuffer(),
    ],
    ['cmyk jpeg', await cmykJpeg()],
    ['lossy webp', await raw(19, 11, 3).webp().toBuffer()],
    ['lossless webp', await raw(19, 11, 3).webp({ lossless: true }).toBuffer()],
    ['webp with alpha', await raw(8, 9, 4).webp().toBuffer()],
    ['webp with metadata (VP8X)', await raw(8, 9, 3).webp().withMetadata().toBuffer()],
  ];
}

describe('readImageHeader', () => {
  it('agrees with libvips on format, size, channels, colour space and depth', async () => {
    for (const [name, bytes] of await samples()) {
      const header = readImageHeader(bytes)!;
      const metadata = await sharp(bytes).metadata();
      expect(header, name).toMatchObject({
        format: metadata.format,
        width: metadata.width,
        height: metadata.height,
        channels: metadata.channels,
        space: metadata.space,
        bitsPerSample: metadata.depth === 'ushort' ? 16 : 8,
        animated: false,
      });
    }
  });

  it('sees APNG and animated WebP', async () => {
    const png = await raw(4, 4, 1).toColourspace('b-w').png().toBuffer();
    expect(readImageHeader(animatedPng(png))?.animated).toBe(true);
    expect(readImageHeader(await animatedWebp())?.animated).toBe(true);
  });

  it('answers undefined for other formats and DamagedHeaderError for every cut-off header, never anything else', async () => {
    expect(readImageHeader(await raw(4, 4, 3).gif().toBuffer())).toBeUndefined();
    expect(readImageHeader(Buffer.from('plain text'))).toBeUndefined();
    expect(readImageHeader(new Uint8Array(0))).toBeUndefined();
    for (const [name, bytes] of await samples()) {
      for (let length = 0; length < Math.min(bytes.length, 200); length += 1) {
        try {
          readImageHeader(bytes.subarray(0, length));
        } catch (error) {
          expect(error, `${name} cut at ${length}`).toBeInstanceOf(DamagedHeaderError);
        }
      }
    }
  });
});
