import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { DataError } from '@tfmlops/core';

/** IDX magic numbers: two zero bytes, the element type (0x08 = unsigned byte), then the number of dimensions. */
export const IDX_LABELS_MAGIC = 0x00000801;
export const IDX_IMAGES_MAGIC = 0x00000803;
const LABELS_HEADER_BYTES = 8;
const IMAGES_HEADER_BYTES = 16;
const GZIP_MAGIC = [0x1f, 0x8b] as const;

const gunzipAsync = promisify(gunzip);

export interface IdxLabels {
  count: number;
  /** A view into the file's buffer, not a copy. */
  labels: Uint8Array;
}

export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** All images back to back, row-major; a view into the file's buffer, not a copy. */
  pixels: Uint8Array;
}

/** Reads an IDX file, gunzipping it when it starts with the gzip magic (mirrors serve `.gz`, npm ships raw). */
export async function readIdxFile(path: string): Promise<Buffer> {
  const data = await readFile(path);
  if (data[0] !== GZIP_MAGIC[0] || data[1] !== GZIP_MAGIC[1]) return data;
  try {
    return await gunzipAsync(data);
  } catch (error) {
    throw new DataError(
      'DATA_CORRUPT_FILE',
      `${path} is not a valid gzip file: ${(error as Error).message}`,
      {
        hint: 'the file is truncated or damaged; delete it so it is downloaded again',
        cause: error,
      },
    );
  }
}

/** Parses an IDX1 label file. `name` identifies the file in error messages. */
export function parseIdxLabels(data: Uint8Array, name: string): IdxLabels {
  const view = headerView(data, name, LABELS_HEADER_BYTES, IDX_LABELS_MAGIC, 'label');
  const count = view.getUint32(4);
  checkLength(data, name, LABELS_HEADER_BYTES + count, `${count} labels`);
  return { count, labels: data.subarray(LABELS_HEADER_BYTES, LABELS_HEADER_BYTES + count) };
}

/** Parses an IDX3 image file of unsigned bytes. `name` identifies the file in error messages. */
export function parseIdxImages(data: Uint8Array, name: string): IdxImages {
  const view = headerView(data, name, IMAGES_HEADER_BYTES, IDX_IMAGES_MAGIC, 'image');
  const count = view.getUint32(4);
  const rows = view.getUint32(8);
  const cols = view.getUint32(12);
  if (rows === 0 || cols === 0) {
    throw new DataError(
      'DATA_CORRUPT_FILE',
      `${name}: the IDX header gives images of ${rows}x${cols} pixels`,
      {
        hint: 'the file is damaged; replace it with the original',
      },
    );
  }
  const bytes = count * rows * cols;
  checkLength(data, name, IMAGES_HEADER_BYTES + bytes, `${count} images of ${rows}x${cols}`);
  return { count, rows, cols, pixels: data.subarray(IMAGES_HEADER_BYTES, IMAGES_HEADER_BYTES + bytes) };
}

function headerView(
  data: Uint8Array,
  name: string,
  headerBytes: number,
  magic: number,
  what: string,
): DataView {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  // The magic number first: a swapped file is a likelier mistake than a truncated header, and says more.
  const found = data.byteLength >= 4 ? view.getUint32(0) : undefined;
  if (found !== undefined && found !== magic) {
    throw new DataError(
      'DATA_CORRUPT_FILE',
      `${name} is not an IDX ${what} file: magic number 0x${hex(found)}, expected 0x${hex(magic)}`,
      { hint: `check that the file holds ${what}s (the IDX files are easy to swap)` },
    );
  }
  if (data.byteLength < headerBytes) {
    throw new DataError(
      'DATA_CORRUPT_FILE',
      `${name} is truncated: ${data.byteLength} bytes, shorter than an IDX ${what} header`,
      {
        hint: 'the file is damaged or incomplete; replace it with the original',
      },
    );
  }
  return view;
}

function checkLength(data: Uint8Array, name: string, expected: number, promise: string): void {
  if (data.byteLength < expected) {
    throw new DataError(
      'DATA_CORRUPT_FILE',
      `${name} is truncated: its header promises ${promise} (${expected} bytes) but it has ${data.byteLength} bytes`,
      {
        hint: 'the file is incomplete; delete it so it is downloaded again, or replace it with the original',
      },
    );
  }
  if (data.byteLength > expected) {
    throw new DataError(
      'DATA_CORRUPT_FILE',
      `${name} has ${data.byteLength - expected} bytes after the ${promise} its header promises`,
      { hint: 'the file is damaged or not an IDX file; replace it with the original' },
    );
  }
}

function hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}
