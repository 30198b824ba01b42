/**
 * Parity: the same image files through the data pipeline (prepareDataset -> shards -> the training loader's
 * normalised batches) and through the service (HTTP -> checks -> preprocessing -> normalisation -> the network's
 * input) must give identical tensors, bit for bit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createLogger, createStorage } from '@tfmlops/core';
import { dataConfigSchema, openDataset, prepareDataset } from '@tfmlops/data';
import { publishBundle } from '@tfmlops/model';
import { loadServingModel, type ServingModel } from '@tfmlops/serve';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, multipartBody, type TestApp } from '../support/serve/test-app.ts';
import {
  halfPixels,
  TINY_PREPROCESS,
  trainTinyModel,
  useWasmBackend,
  writeTinyBundle,
} from '../support/serve/tiny-bundle.ts';

const storage = createStorage();
let dir: string;
let trained: tfl.LayersModel;
let service: TestApp;
const captured: Float32Array[] = [];
const files: Array<{ name: string; bytes: Buffer }> = [];

/** A grayscale image of `width` x `height` (non-square ones make the resize mode matter). */
async function grey(half: 'top' | 'bottom', width: number, variant: number, height = width) {
  const size = Math.max(width, height);
  const pixels = await sharp(Buffer.from(halfPixels(half, size, variant)), {
    raw: { width: size, height: size, channels: 1 },
  })
    .resize(width, height, { fit: 'fill' })
    .raw()
    .toBuffer();
  return sharp(pixels, { raw: { width, height, channels: 1 } });
}

/** Files that exercise every preprocessing step: formats, resizing, EXIF rotation, alpha, grey stored as RGB. */
async function makeFiles(): Promise<void> {
  const add = async (name: string, image: Promise<Buffer>) => files.push({ name, bytes: await image });
  await add('top/plain.png', (await grey('top', 16, 1)).toColourspace('b-w').png().toBuffer());
  await add('top/large.png', (await grey('top', 48, 2, 30)).toColourspace('b-w').png().toBuffer());
  await add('top/photo.jpg', (await grey('top', 40, 3, 24)).jpeg({ quality: 90 }).toBuffer());
  await add(
    'top/rotated.jpg',
    (await grey('bottom', 20, 4, 32)).jpeg().withMetadata({ orientation: 6 }).toBuffer(),
  );
  await add('bottom/lossless.webp', (await grey('bottom', 24, 5, 40)).webp({ lossless: true }).toBuffer());
  await add('bottom/rgb.png', (await grey('bottom', 20, 6)).toColourspace('srgb').png().toBuffer());
  const alpha = Buffer.from(
    halfPixels('bottom', 16, 7, 2).map((v, i) => (i % 2 === 1 ? (i % 6 === 1 ? 0 : 255) : v)),
  );
  await add(
    'bottom/alpha.png',
    sharp(alpha, { raw: { width: 16, height: 16, channels: 2 } })
      .png()
      .toBuffer(),
  );
  await add('bottom/lossy.webp', (await grey('bottom', 30, 8, 18)).webp({ quality: 80 }).toBuffer());
  for (const { name, bytes } of files) await storage.write(join(dir, 'images', name), bytes);
}

beforeAll(async () => {
  await useWasmBackend();
  dir = mkdtempSync(join(tmpdir(), 'serve-parity-'));
  await makeFiles();
  trained = await trainTinyModel();
});

afterAll(async () => {
  await service?.app.close();
  trained?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('preprocessing parity between training and serving', () => {
  it('every file gives the same network input through the service as through the training loader', async () => {
    const logger = createLogger({ level: 'silent' });
    const prepared = await prepareDataset(
      dataConfigSchema.parse({
        name: 'parity',
        source: { kind: 'imagefolder', path: join(dir, 'images') },
        outputDir: join(dir, 'processed'),
        cacheDir: join(dir, 'cache'),
        preprocess: TINY_PREPROCESS,
        split: { valFraction: 0, testFraction: 0 },
      }),
      { storage, logger },
    );
    expect(prepared.manifest.counts.train.total).toBe(files.length);
    const dataset = await openDataset(prepared.uri, { storage });
    const rows: Float32Array[] = [];
    for await (const batch of dataset.batches('train', { batchSize: 64, shuffle: false })) {
      const xs = (await batch.xs.data()) as Float32Array;
      const size = 16 * 16;
      for (let i = 0; i < batch.xs.shape[0]!; i += 1) rows.push(xs.slice(i * size, (i + 1) * size));
      batch.xs.dispose();
      batch.ys.dispose();
    }

    // A bundle trained on this dataset carries its preprocessing spec and normalisation, as `pnpm train` writes.
    const staging = join(dir, 'bundle');
    await writeTinyBundle(staging, trained, storage, { normalization: prepared.manifest.normalization });
    const published = await publishBundle(staging, join(dir, 'models'), { storage });
    const load = async (uri: string, options: Parameters<typeof loadServingModel>[1]) => {
      const model: ServingModel = await loadServingModel(uri, options);
      const run = model.predictBatch.bind(model);
      model.predictBatch = (inputs) => {
        captured.push(...inputs);
        return run(inputs);
      };
      return model;
    };
    service = await buildTestApp({ modelUri: published.latestUri!, maxBatchDelayMs: 0 }, storage, { load });
    captured.length = 0; // drop the warm-up batches

    for (const { name, bytes } of files) {
      const response = await service.app.inject({
        method: 'POST',
        url: '/predict',
        ...multipartBody([{ name: 'file', filename: name, data: bytes }]),
      });
      expect(response.statusCode, `${name}: ${response.body}`).toBe(200);
    }
    expect(captured).toHaveLength(files.length);
    const key = (values: Float32Array) =>
      Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('hex');
    const training = new Set(rows.map(key));
    expect(training.size).toBe(files.length); // the files are all different images
    const unmatched = files.filter((_, i) => !training.has(key(captured[i]!))).map((file) => file.name);
    expect(unmatched).toEqual([]);
  });
});
