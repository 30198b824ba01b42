/** Hostile and awkward image files for the service's input tests, built from real encoders where possible. */
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { halfPixels, TINY_SIZE } from './tiny-bundle.ts';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (CRC_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** One PNG chunk: length, type, data, CRC of type + data. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A valid grayscale PNG of `width` x `height` black pixels: a few tens of KB that decompress to width * height
 * bytes — a decompression bomb at large sizes.
 */
export function pngBomb(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // grayscale
  const rows = Buffer.alloc((width + 1) * height); // filter byte 0 + zero pixels per row
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(rows, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A real PNG with an APNG animation control chunk (2 frames declared) inserted after IHDR. */
export function animatedPng(png: Buffer): Buffer {
  const ihdrEnd = PNG_SIGNATURE.length + 8 + 13 + 4;
  const actl = Buffer.alloc(8);
  actl.writeUInt32BE(2, 0);
  return Buffer.concat([png.subarray(0, ihdrEnd), pngChunk('acTL', actl), png.subarray(ihdrEnd)]);
}

async function frames(): Promise<Buffer[]> {
  return Promise.all(
    [30, 220].map((v) =>
      sharp({
        create: { width: TINY_SIZE, height: TINY_SIZE, channels: 3, background: { r: v, g: v, b: v } },
      })
        .png()
        .toBuffer(),
    ),
  );
}

export const animatedWebp = async () =>
  sharp(await frames(), { join: { animated: true } })
    .webp()
    .toBuffer();
export const animatedGif = async () =>
  sharp(await frames(), { join: { animated: true } })
    .gif()
    .toBuffer();
export const multiPageTiff = async () =>
  sharp(await frames(), { join: { animated: true } })
    .tiff()
    .toBuffer();

const grayRaw = (size = TINY_SIZE) =>
  sharp(Buffer.from(halfPixels('top', size)), { raw: { width: size, height: size, channels: 1 } });

/** A 16-bit grayscale PNG of the "top" image. */
export const png16 = () => grayRaw().toColourspace('grey16').png().toBuffer();

/** A CMYK JPEG. */
export const cmykJpeg = () => grayRaw().toColourspace('srgb').jpeg().toColourspace('cmyk').toBuffer();

/** An RGB PNG with real colour (red top half, blue bottom half). */
export async function colourPng(): Promise<Buffer> {
  const pixels = Buffer.alloc(TINY_SIZE * TINY_SIZE * 3);
  for (let p = 0; p < TINY_SIZE * TINY_SIZE; p += 1) {
    const top = p < (TINY_SIZE * TINY_SIZE) / 2;
    pixels[p * 3] = top ? 220 : 10;
    pixels[p * 3 + 2] = top ? 10 : 220;
  }
  return sharp(pixels, { raw: { width: TINY_SIZE, height: TINY_SIZE, channels: 3 } })
    .png()
    .toBuffer();
}

/** The "top" image stored as RGBA with equal colour channels (as a canvas export is). */
export const greyAsRgbaPng = () =>
  sharp(Buffer.from(halfPixels('top', TINY_SIZE, 0, 4).map((v, i) => (i % 4 === 3 ? 255 : v))), {
    raw: { width: TINY_SIZE, height: TINY_SIZE, channels: 4 },
  })
    .png()
    .toBuffer();

/** A grayscale PNG (1 channel). */
export const greyPng = () => grayRaw().toColourspace('b-w').png().toBuffer();

/** The first `fraction` of a file. */
export const truncated = (bytes: Buffer, fraction = 0.6) =>
  bytes.subarray(0, Math.floor(bytes.length * fraction));
