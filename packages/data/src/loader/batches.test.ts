import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { createLogger, createStorage } from '@tfmlops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataConfigSchema } from '../config.ts';
import { openDataset, type PreparedDataset } from '../format/open-dataset.ts';
import { prepareDataset } from '../prepare/prepare-dataset.ts';
import { syntheticSource } from '../testing/synthetic-source.ts';
import { randomFlip } from './augment.ts';
import type { Batch, BatchOptions } from './batches.ts';

const storage = createStorage();
let root: string;
let datasetUri: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'loader-test-'));
  // 3 classes x 40 images of 6x6x3; shards of 10 images so streaming really crosses shard boundaries.
  const config = dataConfigSchema.parse({
    name: 'loader',
    source: { kind: 'mnist' },
    outputDir: root,
    split: { valFraction: 0.25, testFraction: 0 },
    shardSizeMB: (10 * 6 * 6 * 3) / (1024 * 1024),
  });
  const source = syntheticSource({ classes: 3, perClass: 40, width: 6, height: 6, channels: 3 });
  const result = await prepareDataset(config, {
    storage,
    logger: createLogger({ level: 'silent' }),
    loadSource: async () => source,
  });
  datasetUri = result.uri;
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Reads every batch into plain arrays (and disposes the tensors): per image, its label and pixel sum. */
async function collect(dataset: PreparedDataset, options: BatchOptions, split: 'train' | 'val' = 'train') {
  const images: Array<{ label: number; sum: number }> = [];
  const sizes: number[] = [];
  for await (const batch of dataset.batches(split, options)) {
    const [xs, ys] = [await batch.xs.data(), await batch.ys.array()];
    const size = batch.xs.shape[0] as number;
    sizes.push(size);
    const per = xs.length / size;
    for (let b = 0; b < size; b += 1) {
      let sum = 0;
      for (let p = 0; p < per; p += 1) sum += xs[b * per + p] as number;
      const row = (ys as number[][] | number[])[b];
      const label = Array.isArray(row) ? row.indexOf(1) : (row as number);
      images.push({ label, sum: Math.round(sum * 1e3) / 1e3 });
    }
    tf.dispose([batch.xs, batch.ys]);
  }
  return { images, sizes };
}

describe('loader', () => {
  it('yields normalised float32 NHWC batches with one-hot labels covering the split once', async () => {
    const dataset = await openDataset(datasetUri, { storage });
    expect(dataset.count('train')).toBe(90);
    let first: Batch | undefined;
    for await (const batch of dataset.batches('train', { batchSize: 32, seed: 1 })) {
      first = batch;
      break;
    }
    if (!first) throw new Error('no batch');
    expect(first.xs.shape).toEqual([32, 6, 6, 3]);
    expect(first.xs.dtype).toBe('float32');
    expect(first.ys.shape).toEqual([32, 3]);
    tf.dispose([first.xs, first.ys]);

    const { images, sizes } = await collect(dataset, { batchSize: 32, seed: 1 });
    expect(sizes).toEqual([32, 32, 26]);
    expect([0, 1, 2].map((k) => images.filter((i) => i.label === k).length)).toEqual(
      dataset.manifest.counts.train.perClass,
    );
    // Normalised with the train split's own statistics: mean ~0 and std ~1 over the split.
    const mean = images.reduce((s, i) => s + i.sum, 0) / (90 * 6 * 6 * 3);
    expect(Math.abs(mean)).toBeLessThan(1e-3);
  });

  it('is deterministic for a seed, differs across seeds, and keeps order when shuffle is off', async () => {
    const dataset = await openDataset(datasetUri, { storage });
    const a = await collect(dataset, { batchSize: 16, seed: 3 });
    const b = await collect(dataset, { batchSize: 16, seed: 3 });
    const c = await collect(dataset, { batchSize: 16, seed: 4 });
    expect(b.images).toEqual(a.images);
    expect(c.images).not.toEqual(a.images);
    const sorted = (xs: typeof a.images) => xs.map((i) => `${i.label}:${i.sum}`).sort();
    expect(sorted(c.images)).toEqual(sorted(a.images));
    const plain1 = await collect(dataset, { batchSize: 16, shuffle: false });
    const plain2 = await collect(dataset, { batchSize: 16, shuffle: false, seed: 99 });
    expect(plain2.images).toEqual(plain1.images);
  });

  it('streams shards when the dataset exceeds the memory budget, with the same content', async () => {
    const inMemory = await openDataset(datasetUri, { storage });
    const streaming = await openDataset(datasetUri, { storage, memoryBudgetBytes: 0, verify: 'lazy' });
    expect(inMemory.inMemory).toBe(true);
    expect(streaming.inMemory).toBe(false);
    const fromMemory = await collect(inMemory, { batchSize: 7, seed: 5 });
    const streamed = await collect(streaming, { batchSize: 7, seed: 5, shuffleBufferSize: 15 });
    const sorted = (xs: typeof streamed.images) => xs.map((i) => `${i.label}:${i.sum}`).sort();
    expect(sorted(streamed.images)).toEqual(sorted(fromMemory.images));
    const again = await collect(streaming, { batchSize: 7, seed: 5, shuffleBufferSize: 15 });
    expect(again.images).toEqual(streamed.images);
    const unshuffled = await collect(streaming, { batchSize: 7, shuffle: false });
    expect(streamed.images).not.toEqual(unshuffled.images);
  });

  it('gives int32 index labels and honours dropRemainder', async () => {
    const dataset = await openDataset(datasetUri, { storage });
    const sizes: number[] = [];
    for await (const batch of dataset.batches('val', {
      batchSize: 8,
      labels: 'index',
      dropRemainder: true,
    })) {
      expect(batch.ys.dtype).toBe('int32');
      expect(batch.ys.shape).toEqual([batch.xs.shape[0]]);
      sizes.push(batch.xs.shape[0] as number);
      tf.dispose([batch.xs, batch.ys]);
    }
    expect(sizes).toEqual([8, 8, 8]); // 30 val images, the last 6 dropped
  });

  it('applies the augmentation hook with its own seeded randomness', async () => {
    const dataset = await openDataset(datasetUri, { storage });
    const plain = await collect(dataset, { batchSize: 90, seed: 2 });
    const flipped = await collect(dataset, {
      batchSize: 90,
      seed: 2,
      augment: randomFlip({ probability: 1 }),
    });
    // A flip keeps each image's pixel sum; the batch order is the same.
    expect(flipped.images).toEqual(plain.images);
    let original: Float32Array | undefined;
    let mirrored: Float32Array | undefined;
    for await (const batch of dataset.batches('train', { batchSize: 1, shuffle: false })) {
      original = (await batch.xs.data()) as Float32Array;
      tf.dispose([batch.xs, batch.ys]);
      break;
    }
    for await (const batch of dataset.batches('train', {
      batchSize: 1,
      shuffle: false,
      augment: randomFlip({ probability: 1 }),
    })) {
      mirrored = (await batch.xs.data()) as Float32Array;
      tf.dispose([batch.xs, batch.ys]);
      break;
    }
    // pixel (y=0, x=0) after the flip is pixel (y=0, x=5) before it.
    expect(Array.from(mirrored?.subarray(0, 3) ?? [])).toEqual(Array.from(original?.subarray(15, 18) ?? []));
  });

  it('leaks no tensors across epochs when batches are disposed', async () => {
    const dataset = await openDataset(datasetUri, { storage, memoryBudgetBytes: 0 });
    const counts: number[] = [];
    for (let epoch = 0; epoch < 3; epoch += 1) {
      for await (const batch of dataset.batches('train', { batchSize: 16, seed: epoch }))
        tf.dispose([batch.xs, batch.ys]);
      counts.push(tf.memory().numTensors);
    }
    expect(new Set(counts).size).toBe(1);
  });
});
