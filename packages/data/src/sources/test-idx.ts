import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from './idx.ts';

/**
 * Test support only (product code never imports it): builds small IDX files in memory, so tests exercise the
 * parser on real bytes without shipping binary fixtures.
 */
export function idxLabels(labels: readonly number[]): Buffer {
  const data = Buffer.alloc(8 + labels.length);
  data.writeUInt32BE(IDX_LABELS_MAGIC, 0);
  data.writeUInt32BE(labels.length, 4);
  labels.forEach((label, i) => {
    data[8 + i] = label;
  });
  return data;
}

/** `count` images of rows x cols whose pixel p of image i is `pixel(i, p)`. */
export function idxImages(
  count: number,
  rows: number,
  cols: number,
  pixel: (image: number, p: number) => number,
): Buffer {
  const data = Buffer.alloc(16 + count * rows * cols);
  data.writeUInt32BE(IDX_IMAGES_MAGIC, 0);
  data.writeUInt32BE(count, 4);
  data.writeUInt32BE(rows, 8);
  data.writeUInt32BE(cols, 12);
  for (let i = 0; i < count; i += 1) {
    for (let p = 0; p < rows * cols; p += 1) data[16 + i * rows * cols + p] = pixel(i, p);
  }
  return data;
}
