import { createHash } from 'node:crypto';

/** Hash of an image's exact pixels: equal hashes mean byte-identical preprocessed images. */
export function pixelHash(pixels: Uint8Array): string {
  return createHash('sha1').update(pixels).digest('base64');
}

/** Side of the dHash grid: 16x16 comparisons = 256 bits, enough detail to tell one handwritten "1" from another. */
export const DHASH_SIDE = 16;
export const DHASH_WORDS = (DHASH_SIDE * DHASH_SIDE) / 32;

/**
 * Difference hash (dHash): the image as grayscale, box-averaged to (side+1) x side cells, one bit per horizontal
 * neighbour pair (left brighter than right). Re-encoding, slight blur and brightness changes flip few bits, so a small
 * Hamming distance marks a near-duplicate candidate. Returned as 32-bit words.
 */
export function differenceHash(
  pixels: Uint8Array,
  height: number,
  width: number,
  channels: number,
): Uint32Array {
  const cols = DHASH_SIDE + 1;
  const rows = DHASH_SIDE;
  const cells = new Float64Array(cols * rows);
  const counts = new Uint32Array(cols * rows);
  for (let y = 0; y < height; y += 1) {
    const row = Math.min(rows - 1, Math.floor((y * rows) / height));
    for (let x = 0; x < width; x += 1) {
      const col = Math.min(cols - 1, Math.floor((x * cols) / width));
      const offset = (y * width + x) * channels;
      let value = 0;
      for (let c = 0; c < channels; c += 1) value += pixels[offset + c] as number;
      cells[row * cols + col] = (cells[row * cols + col] as number) + value / channels;
      counts[row * cols + col] = (counts[row * cols + col] as number) + 1;
    }
  }
  const mean = (i: number) => (cells[i] as number) / Math.max(1, counts[i] as number);
  const hash = new Uint32Array(DHASH_WORDS);
  for (let row = 0; row < rows; row += 1) {
    for (let col = 0; col < DHASH_SIDE; col += 1) {
      const bit = row * DHASH_SIDE + col;
      if (mean(row * cols + col) > mean(row * cols + col + 1)) {
        hash[bit >>> 5] = (hash[bit >>> 5] as number) | (1 << (bit & 31));
      }
    }
  }
  return hash;
}

export function popcount32(value: number): number {
  let v = value - ((value >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export function hammingDistance(a: Uint32Array, b: Uint32Array): number {
  let distance = 0;
  for (let i = 0; i < a.length; i += 1) distance += popcount32(((a[i] as number) ^ (b[i] as number)) >>> 0);
  return distance;
}
