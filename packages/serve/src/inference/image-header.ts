/**
 * What a PNG, JPEG or WebP file says about itself, read from its first bytes in JavaScript. libvips' own header
 * read costs a thread hand-off and ~0.2 ms of CPU per image, as much as decoding a small image; this costs
 * microseconds. Every read is bounds-checked: a damaged header is reported as such, never read past the end.
 */
export interface ImageHeaderInfo {
  format: 'png' | 'jpeg' | 'webp';
  width: number;
  height: number;
  /** More than one frame (APNG, animated WebP). */
  animated: boolean;
  channels: number;
  /** libvips' names: `b-w`, `srgb`, `cmyk`, `grey16`, `rgb16`. */
  space: string;
  bitsPerSample: number;
}

/** A PNG/JPEG/WebP signature with a header too damaged to read. */
export class DamagedHeaderError extends Error {}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 3, 4: 2, 6: 4 };
const JPEG_SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** The header of a PNG, JPEG or WebP file; undefined for other formats (and non-images). */
export function readImageHeader(bytes: Uint8Array): ImageHeaderInfo | undefined {
  if (PNG_SIGNATURE.every((value, i) => bytes[i] === value)) return pngHeader(bytes);
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return jpegHeader(bytes);
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return webpHeader(bytes);
  return undefined;
}

function ascii(bytes: Uint8Array, at: number, length: number): string {
  if (at + length > bytes.length) return '';
  return String.fromCharCode(...bytes.subarray(at, at + length));
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function pngHeader(bytes: Uint8Array): ImageHeaderInfo {
  if (bytes.length < 33 || ascii(bytes, 12, 4) !== 'IHDR')
    throw new DamagedHeaderError('PNG without an IHDR chunk');
  const data = view(bytes);
  const width = data.getUint32(16);
  const height = data.getUint32(20);
  const depth = bytes[24] as number;
  const colourType = bytes[25] as number;
  const channels = PNG_CHANNELS[colourType];
  if (channels === undefined || ![1, 2, 4, 8, 16].includes(depth)) {
    throw new DamagedHeaderError(`PNG with colour type ${colourType} and bit depth ${depth}`);
  }
  let animated = false;
  let transparency = false;
  // Chunks up to the image data: acTL makes it an APNG, tRNS gives a palette image an alpha channel.
  for (let offset = 33; offset + 8 <= bytes.length; ) {
    const type = ascii(bytes, offset + 4, 4);
    if (type === 'IDAT' || type === 'IEND') break;
    if (type === 'acTL') animated = true;
    if (type === 'tRNS') transparency = true;
    offset += 12 + data.getUint32(offset);
  }
  const grey = colourType === 0 || colourType === 4;
  return {
    format: 'png',
    width,
    height,
    animated,
    channels: channels + (transparency && (colourType === 0 || colourType === 2 || colourType === 3) ? 1 : 0),
    space: grey ? (depth === 16 ? 'grey16' : 'b-w') : depth === 16 ? 'rgb16' : 'srgb',
    bitsPerSample: depth,
  };
}

function jpegHeader(bytes: Uint8Array): ImageHeaderInfo {
  const data = view(bytes);
  let offset = 2;
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) throw new DamagedHeaderError('JPEG marker expected');
    const marker = bytes[offset + 1] as number;
    if (marker === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      offset += 2;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) break; // scan data or end before any frame header
    const length = data.getUint16(offset + 2);
    if (length < 2) throw new DamagedHeaderError('JPEG segment of length < 2');
    if (JPEG_SOF.has(marker)) {
      if (offset + 10 > bytes.length) break;
      const components = bytes[offset + 9] as number;
      return {
        format: 'jpeg',
        width: data.getUint16(offset + 7),
        height: data.getUint16(offset + 5),
        animated: false,
        channels: components,
        space: components === 1 ? 'b-w' : components === 4 ? 'cmyk' : 'srgb',
        bitsPerSample: bytes[offset + 4] as number,
      };
    }
    offset += 2 + length;
  }
  throw new DamagedHeaderError('JPEG without a frame header');
}

function webpHeader(bytes: Uint8Array): ImageHeaderInfo {
  const chunk = ascii(bytes, 12, 4);
  const at = 20;
  const u16 = (i: number) => (bytes[i] as number) | ((bytes[i + 1] as number) << 8);
  const u24 = (i: number) => u16(i) | ((bytes[i + 2] as number) << 16);
  const base = { format: 'webp' as const, space: 'srgb', bitsPerSample: 8, animated: false };
  if (chunk === 'VP8 ' && bytes.length >= at + 10) {
    if (bytes[at + 3] !== 0x9d || bytes[at + 4] !== 0x01 || bytes[at + 5] !== 0x2a)
      throw new DamagedHeaderError('WebP VP8 frame without its start code');
    return { ...base, width: u16(at + 6) & 0x3fff, height: u16(at + 8) & 0x3fff, channels: 3 };
  }
  if (chunk === 'VP8L' && bytes.length >= at + 5) {
    if (bytes[at] !== 0x2f) throw new DamagedHeaderError('WebP VP8L stream without its signature');
    const bits = view(bytes).getUint32(at + 1, true);
    return {
      ...base,
      width: (bits & 0x3fff) + 1,
      height: ((bits >>> 14) & 0x3fff) + 1,
      channels: (bits >>> 28) & 1 ? 4 : 3,
    };
  }
  if (chunk === 'VP8X' && bytes.length >= at + 10) {
    const flags = bytes[at] as number;
    return {
      ...base,
      animated: (flags & 0x02) !== 0,
      width: u24(at + 4) + 1,
      height: u24(at + 7) + 1,
      channels: flags & 0x10 ? 4 : 3,
    };
  }
  throw new DamagedHeaderError(`WebP without a readable ${chunk || 'first'} chunk`);
}
