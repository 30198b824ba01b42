/**
 * Test support for the inference service: a tiny network trained in a second on trivially separable synthetic
 * images (a bright top half vs a bright bottom half), exported as a real model bundle, and the images themselves.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Storage } from '@tfmlops/core';
import {
  type BundleManifest,
  computeReferenceStatistics,
  type PublishedBundle,
  publishBundle,
  writeBundle,
} from '@tfmlops/model';
import { realMachineProbes, selectBackend } from '@tfmlops/runtime';
import sharp from 'sharp';

export const TINY_SIZE = 16;
export const TINY_LABELS = ['top', 'bottom'];
export const TINY_NORMALIZATION = { mean: [0.3], std: [0.3] };
export const TINY_PREPROCESS = {
  width: TINY_SIZE,
  height: TINY_SIZE,
  channels: 1 as const,
  resize: 'stretch' as const,
  background: '#000000',
};

export type Half = 'top' | 'bottom';

/** The backend the service runs on here; tests use the real thing. */
export async function useWasmBackend(): Promise<void> {
  await selectBackend({ backend: 'wasm' }, { probes: realMachineProbes({}) });
}

/** HWC uint8 pixels of a `size` x `size` image whose `half` is bright, with a deterministic texture. */
export function halfPixels(half: Half, size = TINY_SIZE, variant = 0, channels = 1): Uint8Array {
  const pixels = new Uint8Array(size * size * channels);
  for (let y = 0; y < size; y += 1) {
    for (let x = 0; x < size; x += 1) {
      const bright = y < size / 2 === (half === 'top');
      const value = (bright ? 190 : 15) + ((x * 7 + y * 13 + variant * 29) % 50);
      for (let c = 0; c < channels; c += 1) pixels[(y * size + x) * channels + c] = value;
    }
  }
  return pixels;
}

/** An encoded image with the given bright half: a real grayscale PNG (or JPEG/WebP) file. */
export async function halfImage(
  half: Half,
  options: { size?: number; variant?: number; format?: 'png' | 'jpeg' | 'webp' } = {},
): Promise<Buffer> {
  const size = options.size ?? TINY_SIZE;
  const image = sharp(Buffer.from(halfPixels(half, size, options.variant ?? 0)), {
    raw: { width: size, height: size, channels: 1 },
  }).toColourspace('b-w');
  const format = options.format ?? 'png';
  if (format === 'jpeg') return image.jpeg({ quality: 95 }).toBuffer();
  if (format === 'webp') return image.webp({ lossless: true }).toBuffer();
  return image.png().toBuffer();
}

function normalized(pixels: Uint8Array): Float32Array {
  const [mean] = TINY_NORMALIZATION.mean as [number];
  const [std] = TINY_NORMALIZATION.std as [number];
  return Float32Array.from(pixels, (v) => (v / 255 - mean) / std);
}

/** A small dense network with an `embedding` layer, trained until it separates the two halves. */
export async function trainTinyModel(seed = 1): Promise<tfl.LayersModel> {
  const input = tfl.input({ shape: [TINY_SIZE, TINY_SIZE, 1] });
  const flat = tfl.layers.flatten().apply(input) as tfl.SymbolicTensor;
  const embedding = tfl.layers
    .dense({
      units: 8,
      activation: 'relu',
      name: 'embedding',
      kernelInitializer: tfl.initializers.glorotUniform({ seed }),
    })
    .apply(flat) as tfl.SymbolicTensor;
  const logits = tfl.layers
    .dense({
      units: TINY_LABELS.length,
      name: 'logits',
      kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }),
    })
    .apply(embedding) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: logits });
  const count = 32;
  const size = TINY_SIZE * TINY_SIZE;
  const xs = new Float32Array(count * size);
  const ys = new Float32Array(count * 2);
  for (let i = 0; i < count; i += 1) {
    const half: Half = i % 2 === 0 ? 'top' : 'bottom';
    xs.set(normalized(halfPixels(half, TINY_SIZE, i)), i * size);
    ys[i * 2 + (half === 'top' ? 0 : 1)] = 1;
  }
  const x = tf.tensor4d(xs, [count, TINY_SIZE, TINY_SIZE, 1]);
  const y = tf.tensor2d(ys, [count, 2]);
  model.compile({
    optimizer: tf.train.adam(0.05),
    loss: (labels: tf.Tensor, output: tf.Tensor) => tf.losses.softmaxCrossEntropy(labels, output),
  });
  await model.fit(x, y, { epochs: 15, batchSize: count, verbose: 0 });
  tf.dispose([x, y]);
  return model;
}

async function* referenceBatches(): AsyncGenerator<{ xs: tf.Tensor; ys: tf.Tensor }> {
  const count = 8;
  const size = TINY_SIZE * TINY_SIZE;
  const xs = new Float32Array(count * size);
  const ys = new Float32Array(count * 2);
  for (let i = 0; i < count; i += 1) {
    const half: Half = i % 2 === 0 ? 'top' : 'bottom';
    xs.set(normalized(halfPixels(half, TINY_SIZE, 100 + i)), i * size);
    ys[i * 2 + (half === 'top' ? 0 : 1)] = 1;
  }
  yield { xs: tf.tensor4d(xs, [count, TINY_SIZE, TINY_SIZE, 1]), ys: tf.tensor2d(ys, [count, 2]) };
}

export interface TinyBundleOptions {
  name?: string;
  /** Seconds added to the creation time, so two bundles written in one second get distinct versions. */
  createdAtOffsetSeconds?: number;
  normalization?: { mean: number[]; std: number[] };
}

/** Writes `model` as a bundle into `dir` (a staging directory) and returns its manifest. */
export async function writeTinyBundle(
  dir: string,
  model: tfl.LayersModel,
  storage: Storage,
  options: TinyBundleOptions = {},
): Promise<BundleManifest> {
  const normalization = options.normalization ?? TINY_NORMALIZATION;
  const reference = await computeReferenceStatistics(model, {
    batches: referenceBatches(),
    split: 'val',
    normalization,
    numClasses: TINY_LABELS.length,
    embeddingLayer: 'embedding',
    sampleSize: 8,
    embeddingSampleSize: 4,
  });
  return writeBundle(
    dir,
    {
      model,
      name: options.name ?? 'tiny',
      labels: TINY_LABELS,
      inputShape: [TINY_SIZE, TINY_SIZE, 1],
      preprocess: TINY_PREPROCESS,
      normalization,
      architecture: 'test-dense',
      embeddingLayer: 'embedding',
      reference,
      metrics: { test_accuracy: 1 },
      dataset: { name: 'halves', version: '0123456789abcdef', uri: 'memory://halves' },
      config: { name: options.name ?? 'tiny' },
      git: { commit: null, dirty: null },
      run: null,
      quantize: 'none',
      accuracy: 1,
      createdAt: new Date(Date.now() + (options.createdAtOffsetSeconds ?? 0) * 1000),
    },
    storage,
  );
}

/** Writes and publishes a bundle under `<exportRoot>/<name>/` (latest.json updated). */
export async function publishTinyBundle(
  stagingDir: string,
  exportRoot: string,
  model: tfl.LayersModel,
  storage: Storage,
  options: TinyBundleOptions = {},
): Promise<PublishedBundle> {
  await writeTinyBundle(stagingDir, model, storage, options);
  return publishBundle(stagingDir, exportRoot, { storage });
}
