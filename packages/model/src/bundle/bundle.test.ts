import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createStorage, ModelLoadError, type Storage, StorageError } from '@tfmlops/core';
import type { Batch } from '@tfmlops/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsEmulator } from '../../../../tests/support/gcs-emulator/index.ts';
import { createVit } from '../architectures/vit.ts';
import { runBundleCommand } from '../bundle-command.ts';
import { float32ToFloat16 } from './artifacts.ts';
import { type BundleContents, publishBundle, writeBundle } from './export-bundle.ts';
import { BUNDLE_FILE, LATEST_POINTER_FILE, latestPointerSchema } from './format.ts';
import { loadBundle } from './load-bundle.ts';
import { computeReferenceStatistics, imageChannelStats, type ReferenceStatistics } from './reference.ts';

const run = promisify(execFile);
const SHAPE: [number, number, number] = [6, 6, 1];
const LABELS = ['zero', 'one', 'two'];
const NORMALIZATION = { mean: [0.4], std: [0.25] };

function tinyModel(seed = 1): tfl.LayersModel {
  const input = tfl.input({ shape: SHAPE });
  const conv = tfl.layers
    .conv2d({
      filters: 4,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: tfl.initializers.glorotUniform({ seed }),
    })
    .apply(input) as tfl.SymbolicTensor;
  const flat = tfl.layers.flatten().apply(conv) as tfl.SymbolicTensor;
  const embedding = tfl.layers
    .dense({
      units: 8,
      activation: 'relu',
      name: 'embedding',
      kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }),
    })
    .apply(flat) as tfl.SymbolicTensor;
  const logits = tfl.layers
    .dense({
      units: LABELS.length,
      name: 'logits',
      kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 2 }),
    })
    .apply(embedding) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: logits });
}

/** Deterministic "images" with labels, as the data loader would yield them (normalised xs, one-hot ys). */
function* batches(count: number, size: number): Generator<Batch> {
  for (let b = 0; b < count; b += 1) {
    const pixels = tf.tidy(() =>
      tf.div(tf.floor(tf.mul(tf.randomUniform([size, ...SHAPE], 0, 1, 'float32', 100 + b), 256)), 255),
    );
    const xs = tf.tidy(() => tf.div(tf.sub(pixels, NORMALIZATION.mean[0]!), NORMALIZATION.std[0]!));
    const ys = tf.tidy(() =>
      tf.cast(
        tf.oneHot(
          tf.tensor1d(
            Array.from({ length: size }, (_, i) => (i + b) % LABELS.length),
            'int32',
          ),
          LABELS.length,
        ),
        'float32',
      ),
    );
    pixels.dispose();
    yield { xs, ys };
  }
}

async function* asAsync<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

function contentsFor(
  model: tfl.LayersModel,
  reference: ReferenceStatistics,
  overrides: Partial<BundleContents> = {},
): BundleContents {
  return {
    model,
    name: 'tiny',
    labels: LABELS,
    inputShape: SHAPE,
    preprocess: { width: 6, height: 6, channels: 1, resize: 'fit', background: '#000000' },
    normalization: NORMALIZATION,
    architecture: 'test',
    embeddingLayer: 'embedding',
    reference,
    metrics: { test_accuracy: 0.5 },
    dataset: {
      name: 'synthetic',
      version: '0123456789abcdef',
      uri: 'data/processed/synthetic/0123456789abcdef',
    },
    config: { name: 'tiny' },
    git: { commit: 'abc', dirty: false },
    run: null,
    quantize: 'none',
    accuracy: 0.5,
    ...overrides,
  };
}

function probe(): tf.Tensor {
  return tf.randomUniform([5, ...SHAPE], -1, 1, 'float32', 7);
}

describe('model bundles', () => {
  let dir: string;
  let storage: Storage;
  let model: tfl.LayersModel;
  let reference: ReferenceStatistics;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'bundle-'));
    storage = createStorage();
    model = tinyModel();
    reference = await computeReferenceStatistics(model, {
      batches: asAsync(batches(3, 10)),
      split: 'val',
      normalization: NORMALIZATION,
      numClasses: LABELS.length,
      embeddingLayer: 'embedding',
      sampleSize: 16,
      embeddingSampleSize: 5,
    });
  });
  afterAll(() => {
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reference statistics cover every image: histograms, class counts, an embedding sample; no tensors left', async () => {
    expect(reference.count).toBe(30);
    expect(reference.pixels).toHaveLength(1);
    const meanHistogram = reference.pixels[0]!.mean.histogram;
    expect(meanHistogram.counts.reduce((a, b) => a + b, 0)).toBe(30);
    expect(meanHistogram.edges).toHaveLength(meanHistogram.counts.length + 1);
    expect(reference.pixels[0]!.mean.sample).toHaveLength(16);
    // Uniform pixels have mean ~0.5 and std ~0.29 (1/sqrt(12)): the de-normalisation is right.
    const sampleMean = reference.pixels[0]!.mean.sample.reduce((a, b) => a + b, 0) / 16;
    expect(sampleMean).toBeGreaterThan(0.4);
    expect(sampleMean).toBeLessThan(0.6);
    expect(reference.predictedClass.reduce((a, b) => a + b, 0)).toBe(30);
    expect(reference.confidence.histogram.counts.reduce((a, b) => a + b, 0)).toBe(30);
    expect(reference.embeddings?.dimensions).toBe(8);
    expect(reference.embeddings?.sample).toHaveLength(5);

    const before = tf.memory().numTensors;
    await computeReferenceStatistics(model, {
      batches: asAsync(batches(2, 4)),
      split: 'val',
      normalization: NORMALIZATION,
      numClasses: LABELS.length,
      embeddingLayer: 'embedding',
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('imageChannelStats gives per-channel mean and std in [0,1] units', () => {
    const stats = imageChannelStats(new Uint8Array([0, 255, 255, 255, 0, 255]), 3);
    expect(stats.mean).toEqual([0.5, 0.5, 1]);
    expect(stats.std[0]).toBeCloseTo(0.5, 6);
    expect(stats.std[2]).toBe(0);
  });

  it('writes, publishes and loads back (via latest.json, the directory and bundle.json) with identical predictions', async () => {
    const staging = join(dir, 'run', 'bundle');
    const manifest = await writeBundle(staging, contentsFor(model, reference), storage);
    expect(manifest.version).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    expect(manifest.files.map((f) => f.path).sort()).toEqual([
      'group1-shard1of1.bin',
      'model.json',
      'reference.json',
    ]);
    expect(manifest.model.parameters).toBe(model.countParams());

    const exportRoot = join(dir, 'models');
    const published = await publishBundle(staging, exportRoot, { storage });
    expect(published.uri).toBe(join(exportRoot, 'tiny', manifest.version));
    const pointer = latestPointerSchema.parse(
      JSON.parse(readFileSync(join(exportRoot, 'tiny', LATEST_POINTER_FILE), 'utf8')),
    );
    expect(pointer.version).toBe(manifest.version);

    const input = probe();
    const expected = (model.predict(input) as tf.Tensor).arraySync();
    for (const uri of [
      join(exportRoot, 'tiny', LATEST_POINTER_FILE),
      join(exportRoot, 'tiny'),
      published.uri,
      join(published.uri, BUNDLE_FILE),
    ]) {
      const loaded = await loadBundle(uri, { storage });
      expect(loaded.manifest.version).toBe(manifest.version);
      expect(loaded.manifest.labels).toEqual(LABELS);
      expect(loaded.reference.count).toBe(30);
      expect((loaded.model.predict(input) as tf.Tensor).arraySync()).toEqual(expected);
      loaded.dispose();
    }
    input.dispose();
  });

  it('a ViT bundle (custom layers) loads back, also in a fresh process, with identical predictions', async () => {
    const vit = createVit({
      inputShape: [8, 8, 1],
      numClasses: LABELS.length,
      seed: 3,
      patchSize: 4,
      dim: 8,
      depth: 1,
      heads: 2,
      mlpRatio: 2,
    });
    const staging = join(dir, 'vit');
    await writeBundle(
      staging,
      contentsFor(vit, reference, {
        inputShape: [8, 8, 1],
        architecture: 'vit',
        embeddingLayer: 'embedding',
      }),
      storage,
    );
    const input = tf.randomUniform([3, 8, 8, 1], -1, 1, 'float32', 5);
    const expected = (vit.predict(input) as tf.Tensor).arraySync();
    const loaded = await loadBundle(staging, { storage });
    expect(loaded.model.layers.some((layer) => layer.getClassName() === 'MultiHeadSelfAttention')).toBe(true);
    expect((loaded.model.predict(input) as tf.Tensor).arraySync()).toEqual(expected);
    loaded.dispose();
    vit.dispose();
    input.dispose();
    // A process that never built a ViT: loadBundle itself must register the custom layers.
    const fixture = join(import.meta.dirname, 'fixtures', 'load-and-predict.ts');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', fixture, staging]);
    expect(JSON.parse(stdout)).toEqual(expected);
  });

  it('refuses a bundle whose shard was changed, naming the file', async () => {
    const staging = join(dir, 'tampered');
    await writeBundle(staging, contentsFor(model, reference), storage);
    const shard = join(staging, 'group1-shard1of1.bin');
    const bytes = readFileSync(shard);
    bytes[10] = (bytes[10] as number) ^ 0xff;
    writeFileSync(shard, bytes);
    const error = await loadBundle(staging, { storage }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).code).toBe('MODEL_CHECKSUM_MISMATCH');
    expect((error as Error).message).toContain('group1-shard1of1.bin');
  });

  it('refuses a bundle.json that differs from what latest.json pinned', async () => {
    const staging = join(dir, 'pinned');
    await writeBundle(staging, contentsFor(model, reference), storage);
    const root = join(dir, 'pinned-models');
    const published = await publishBundle(staging, root, { storage });
    const bundleJson = join(published.uri, BUNDLE_FILE);
    writeFileSync(
      bundleJson,
      readFileSync(bundleJson, 'utf8').replace('"test_accuracy": 0.5', '"test_accuracy": 0.99'),
    );
    const error = await loadBundle(join(root, 'tiny', LATEST_POINTER_FILE), { storage }).catch(
      (e: unknown) => e,
    );
    expect((error as ModelLoadError).code).toBe('MODEL_CHECKSUM_MISMATCH');
    expect((error as Error).message).toContain(BUNDLE_FILE);
  });

  it('refuses a consistently checksummed bundle whose reference.json is not valid, naming it and leaking no weights', async () => {
    const staging = join(dir, 'bad-reference');
    const invalid = { ...reference, count: 'thirty' } as unknown as ReferenceStatistics;
    await writeBundle(staging, contentsFor(model, invalid), storage);
    const tensorsBefore = tf.memory().numTensors;
    const error = await loadBundle(staging, { storage }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).code).toBe('MODEL_INVALID');
    expect((error as Error).message).toContain('reference.json');
    expect((error as Error).message).toContain('count');
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('a missing bundle is MODEL_NOT_FOUND with a hint', async () => {
    const error = await loadBundle(join(dir, 'nothing-here'), { storage }).catch((e: unknown) => e);
    expect((error as ModelLoadError).code).toBe('MODEL_NOT_FOUND');
    expect((error as ModelLoadError).hint).toBeTruthy();
  });

  it('uint8 and float16 bundles are 4x and 2x smaller, load with TF.js dequantisation, and record accuracy before/after', async () => {
    const input = probe();
    const expected = model.predict(input) as tf.Tensor;
    for (const [dtype, ratio, tolerance] of [
      ['float16', 2, 1e-2],
      ['uint8', 4, 1e-1],
    ] as const) {
      const staging = join(dir, `q-${dtype}`);
      let measured = 0;
      const manifest = await writeBundle(
        staging,
        contentsFor(model, reference, {
          quantize: dtype,
          measureAccuracy: async () => {
            measured += 1;
            return 0.48;
          },
        }),
        storage,
      );
      expect(measured).toBe(1);
      expect(manifest.quantization.dtype).toBe(dtype);
      expect(manifest.quantization.before).toEqual({ weightBytes: model.countParams() * 4, accuracy: 0.5 });
      expect(manifest.quantization.after.accuracy).toBe(0.48);
      expect(manifest.quantization.after.weightBytes).toBe((model.countParams() * 4) / ratio);
      const loaded = await loadBundle(staging, { storage });
      const got = loaded.model.predict(input) as tf.Tensor;
      expect(tf.max(tf.abs(tf.sub(got, expected))).dataSync()[0]).toBeLessThan(tolerance);
      got.dispose();
      loaded.dispose();
    }
    tf.dispose([input, expected]);
  });

  it('float32ToFloat16 rounds to nearest even and keeps zero, subnormals, infinities and NaN', () => {
    const halves = float32ToFloat16(
      new Float32Array([
        0,
        -0,
        1,
        -2,
        65504,
        1e6,
        2 ** -24,
        1 + 2 ** -11,
        1 + 3 * 2 ** -11,
        Number.NaN,
        -Infinity,
      ]),
    );
    expect(Array.from(halves, (h) => h.toString(16))).toEqual([
      '0',
      '8000',
      '3c00',
      'c000',
      '7bff',
      '7c00',
      '1',
      '3c00', // halfway, even stays
      '3c02', // halfway, odd rounds up
      '7e00',
      'fc00',
    ]);
  });

  describe('on gs:// (GCS emulator)', () => {
    const emulator = new GcsEmulator();
    let gcs: Storage;
    beforeAll(async () => {
      const endpoint = await emulator.start();
      emulator.createBucket('models');
      gcs = createStorage({
        gcs: { apiEndpoint: endpoint, projectId: 'test', retry: { maxRetries: 1, maxRetryDelaySeconds: 1 } },
      });
    });
    afterAll(() => emulator.stop());

    it('publishes to a bucket and loads from it through a verified local cache', async () => {
      const staging = join(dir, 'to-gcs');
      const manifest = await writeBundle(staging, contentsFor(model, reference), storage);
      const published = await publishBundle(staging, 'gs://models/prod', { storage: gcs });
      expect(published.latestUri).toBe('gs://models/prod/tiny/latest.json');
      expect(emulator.objectNames('models')).toContain(`prod/tiny/${manifest.version}/bundle.json`);

      const cacheDir = join(dir, 'cache');
      const first = await loadBundle('gs://models/prod/tiny/latest.json', { storage: gcs, cacheDir });
      first.dispose();
      const mediaBefore = emulator.requests.filter((r) => r.query.alt === 'media').length;
      const second = await loadBundle('gs://models/prod/tiny', { storage: gcs, cacheDir });
      const mediaAfter = emulator.requests.filter((r) => r.query.alt === 'media').length;
      // Only the pointer and bundle.json are read again; the model files come from the cache.
      expect(mediaAfter - mediaBefore).toBe(2);
      expect(second.manifest.version).toBe(manifest.version);
      second.dispose();
    });

    it('a failed upload leaves the local bundle intact and names it', async () => {
      const staging = join(dir, 'upload-fails');
      await writeBundle(staging, contentsFor(model, reference), storage);
      let error: unknown;
      emulator.injectFault({
        method: 'POST',
        path: '/upload/',
        status: 503,
        times: Number.POSITIVE_INFINITY,
      });
      try {
        error = await publishBundle(staging, 'gs://models/broken', { storage: gcs }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StorageError);
        expect((error as StorageError).code).toBe('STORAGE_PUBLISH_FAILED');
        expect((error as StorageError).hint).toContain(staging);
      } finally {
        emulator.clearFaults();
      }
      expect(emulator.objectNames('models').some((name) => name.startsWith('broken/tiny/latest.json'))).toBe(
        false,
      );
      const intact = await loadBundle(staging, { storage });
      intact.dispose();

      // The bucket is back: the command the hint prints publishes the intact bundle, pointer last.
      const hint = (error as StorageError).hint ?? '';
      const command = hint.slice(hint.indexOf('pnpm bundle publish ')).split(' ').slice(2);
      expect(command).toEqual(['publish', staging, '--to', 'gs://models/broken']);
      let stdout = '';
      const code = await runBundleCommand(command, {
        env: {},
        storage: gcs,
        stdout: {
          write: (text: string) => {
            stdout += text;
            return true;
          },
        } as NodeJS.WritableStream,
        stderr: process.stderr,
      });
      expect(code).toBe(0);
      expect(stdout).toContain('latest: gs://models/broken/tiny/latest.json');
      const recovered = await loadBundle('gs://models/broken/tiny/latest.json', {
        storage: gcs,
        cacheDir: join(dir, 'recovered-cache'),
      });
      expect(recovered.manifest.version).toBe(intact.manifest.version);
      recovered.dispose();
    });
  });
});
