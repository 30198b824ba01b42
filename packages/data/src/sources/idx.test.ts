import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataError } from '@tfmlops/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseIdxImages, parseIdxLabels, readIdxFile } from './idx.ts';
import { idxImages, idxLabels } from './test-idx.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'idx-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function dataErrorOf(fn: () => unknown): DataError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DataError);
    return error as DataError;
  }
  throw new Error('expected a DataError');
}

describe('IDX parsing', () => {
  const images = idxImages(3, 2, 4, (i, p) => i * 10 + p);
  const labels = idxLabels([7, 0, 9]);

  it('parses images and labels as views into the file buffer', () => {
    const parsedImages = parseIdxImages(images, 'imgs');
    expect(parsedImages).toMatchObject({ count: 3, rows: 2, cols: 4 });
    expect([...parsedImages.pixels.subarray(8, 16)]).toEqual([10, 11, 12, 13, 14, 15, 16, 17]);
    expect(parsedImages.pixels.buffer).toBe(images.buffer);

    const parsedLabels = parseIdxLabels(labels, 'lbls');
    expect([...parsedLabels.labels]).toEqual([7, 0, 9]);
    expect(parsedLabels.labels.buffer).toBe(labels.buffer);
  });

  it('reads raw and gzipped files alike', async () => {
    await writeFile(join(dir, 'raw'), images);
    await writeFile(join(dir, 'zipped.gz'), gzipSync(images));
    expect(await readIdxFile(join(dir, 'raw'))).toEqual(images);
    expect(await readIdxFile(join(dir, 'zipped.gz'))).toEqual(images);
  });

  it('rejects a label file given as images (wrong magic number), naming the file', () => {
    const error = dataErrorOf(() => parseIdxImages(labels, 'swapped-file'));
    expect(error.code).toBe('DATA_CORRUPT_FILE');
    expect(error.message).toBe(
      'swapped-file is not an IDX image file: magic number 0x00000801, expected 0x00000803',
    );
  });

  it('rejects an image file given as labels', () => {
    expect(dataErrorOf(() => parseIdxLabels(images, 'x')).message).toContain('expected 0x00000801');
  });

  it('rejects a truncated file with the sizes involved', () => {
    const error = dataErrorOf(() => parseIdxImages(images.subarray(0, images.length - 5), 'short-file'));
    expect(error.message).toBe(
      'short-file is truncated: its header promises 3 images of 2x4 (40 bytes) but it has 35 bytes',
    );
  });

  it('rejects a file shorter than its header', () => {
    expect(dataErrorOf(() => parseIdxLabels(labels.subarray(0, 5), 'tiny')).message).toContain(
      'tiny is truncated',
    );
  });

  it('rejects trailing bytes after the promised data', () => {
    const error = dataErrorOf(() => parseIdxLabels(Buffer.concat([labels, Buffer.from([1, 2])]), 'long'));
    expect(error.message).toContain('long has 2 bytes after the 3 labels');
  });

  it('rejects a damaged gzip file, naming it', async () => {
    const path = join(dir, 'broken.gz');
    const zipped = gzipSync(images);
    await writeFile(path, zipped.subarray(0, zipped.length - 10));
    await expect(readIdxFile(path)).rejects.toThrow(`${path} is not a valid gzip file`);
  });
});
