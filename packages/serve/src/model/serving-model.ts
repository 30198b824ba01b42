import * as tf from '@tensorflow/tfjs-core';
import { type Logger, ModelLoadError, type Storage } from '@tfmlops/core';
import { normalizationTable } from '@tfmlops/data';
import { type LoadedBundle, loadBundle } from '@tfmlops/model';
import type { ServingModel } from './types.ts';

export interface LoadServingModelOptions {
  storage: Storage;
  cacheDir?: string;
  logger?: Logger;
  /** Batch sizes to run once before the model is used (first calls compile kernels and size buffers). */
  warmupBatchSizes: number[];
}

/**
 * Loads a bundle for serving: `loadBundle` (resolve, download through the cache, verify every SHA-256, build the
 * network) on the backend already selected, then a warm-up prediction per batch size whose outputs must be finite
 * probabilities. A bundle that fails any step is a ModelLoadError and nothing is left allocated.
 */
export async function loadServingModel(uri: string, options: LoadServingModelOptions): Promise<ServingModel> {
  const started = performance.now();
  const bundle = await loadBundle(uri, {
    storage: options.storage,
    cacheDir: options.cacheDir,
    logger: options.logger,
  });
  const model = servingModelFrom(bundle, started);
  try {
    for (const size of options.warmupBatchSizes) await warmUp(model, size);
  } catch (error) {
    model.dispose();
    throw error;
  }
  model.loadSeconds = (performance.now() - started) / 1000;
  return model;
}

function servingModelFrom(bundle: LoadedBundle, started: number): ServingModel {
  const { manifest } = bundle;
  const inputShape = manifest.inputShape;
  const [height, width, channels] = inputShape;
  const imageSize = height * width * channels;
  const classes = manifest.labels.length;
  const logits = manifest.model.outputs === 'logits';
  let disposed = false;
  return {
    name: manifest.name,
    version: manifest.version,
    sha256: bundle.sha256,
    uri: bundle.uri,
    labels: manifest.labels,
    manifest,
    reference: bundle.reference,
    inputShape,
    preprocess: manifest.preprocess,
    normalizationTable: normalizationTable(manifest.normalization, channels),
    backend: tf.getBackend(),
    loadSeconds: (performance.now() - started) / 1000,
    async predictBatch(inputs) {
      if (disposed) throw new Error(`model ${manifest.name}@${manifest.version} was disposed`);
      const batch = inputs.length;
      const data = new Float32Array(batch * imageSize);
      inputs.forEach((input, i) => {
        if (input.length !== imageSize) {
          throw new Error(`input ${i} has ${input.length} values, the model takes ${imageSize}`);
        }
        data.set(input, i * imageSize);
      });
      const probabilities = tf.tidy(() => {
        const output = bundle.model.predictOnBatch(tf.tensor4d(data, [batch, height, width, channels]));
        const scores = Array.isArray(output) ? (output[0] as tf.Tensor) : (output as tf.Tensor);
        return logits ? tf.softmax(scores) : scores;
      });
      let flat: Float32Array;
      try {
        flat = (await probabilities.data()) as Float32Array;
      } finally {
        probabilities.dispose();
      }
      return Array.from({ length: batch }, (_, i) => flat.slice(i * classes, (i + 1) * classes));
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      bundle.dispose();
    },
  };
}

/** One prediction on a batch of zeros; NaN or probabilities that do not sum to 1 mean the weights are broken. */
async function warmUp(model: ServingModel, batchSize: number): Promise<void> {
  const input = new Float32Array(model.inputShape.reduce((a, b) => a * b, 1));
  const outputs = await model.predictBatch(Array.from({ length: batchSize }, () => input));
  const bad = outputs.find((row) => {
    const sum = row.reduce((a, b) => a + b, 0);
    return !row.every(Number.isFinite) || Math.abs(sum - 1) > 1e-3;
  });
  if (bad) {
    throw new ModelLoadError(
      'MODEL_WARMUP_FAILED',
      `the warm-up prediction of ${model.name}@${model.version} gave ${Array.from(bad.slice(0, 4)).join(', ')}…, not probabilities`,
      { hint: 'the weights are broken (NaN or infinite); retrain or re-export the bundle' },
    );
  }
}
