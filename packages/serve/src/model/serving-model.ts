import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
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
  const model = servingModelFrom(bundle, started, options.logger);
  try {
    for (const size of options.warmupBatchSizes) await warmUp(model, size);
  } catch (error) {
    model.dispose();
    throw error;
  }
  model.loadSeconds = (performance.now() - started) / 1000;
  return model;
}

function servingModelFrom(bundle: LoadedBundle, started: number, logger?: Logger): ServingModel {
  const { manifest } = bundle;
  const inputShape = manifest.inputShape;
  const [height, width, channels] = inputShape;
  const imageSize = height * width * channels;
  const classes = manifest.labels.length;
  const logits = manifest.model.outputs === 'logits';
  const embeddingModel = embeddingProbe(bundle, logger);
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
    embeddingLayer: embeddingModel ? manifest.model.embeddingLayer : null,
    backend: tf.getBackend(),
    loadSeconds: (performance.now() - started) / 1000,
    async predictBatch(inputs, options = {}) {
      if (disposed) throw new Error(`model ${manifest.name}@${manifest.version} was disposed`);
      const batch = inputs.length;
      const data = new Float32Array(batch * imageSize);
      inputs.forEach((input, i) => {
        if (input.length !== imageSize) {
          throw new Error(`input ${i} has ${input.length} values, the model takes ${imageSize}`);
        }
        data.set(input, i * imageSize);
      });
      const probe = options.embeddings ? embeddingModel : undefined;
      const [probabilities, embedding] = tf.tidy(() => {
        const x = tf.tensor4d(data, [batch, height, width, channels]);
        // One network run: the probe's outputs are [embedding layer, the model's own outputs...].
        const outputs = probe ? (probe.predictOnBatch(x) as tf.Tensor[]) : [bundle.model.predictOnBatch(x)];
        const first = outputs[probe ? 1 : 0] as tf.Tensor | tf.Tensor[];
        const scores = Array.isArray(first) ? (first[0] as tf.Tensor) : first;
        const result = logits ? tf.softmax(scores) : scores;
        return probe ? [result, tf.reshape(outputs[0] as tf.Tensor, [batch, -1])] : [result];
      });
      let flat: Float32Array;
      let embeddingFlat: Float32Array | undefined;
      try {
        [flat, embeddingFlat] = (await Promise.all([probabilities!.data(), embedding?.data()])) as [
          Float32Array,
          Float32Array | undefined,
        ];
      } finally {
        probabilities!.dispose();
        embedding?.dispose();
      }
      const dimensions = embeddingFlat ? embeddingFlat.length / batch : 0;
      return {
        probabilities: Array.from({ length: batch }, (_, i) => flat.slice(i * classes, (i + 1) * classes)),
        embeddings: embeddingFlat
          ? Array.from({ length: batch }, (_, i) =>
              (embeddingFlat as Float32Array).slice(i * dimensions, (i + 1) * dimensions),
            )
          : null,
      };
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      // The probe shares the bundle's layers (and their weights): disposing the bundle frees both.
      bundle.dispose();
    },
  };
}

/**
 * A second view of the bundle's network with two outputs, the embedding layer's and the model's own, built once per
 * loaded bundle, so embeddings cost no second network run. Undefined when the bundle names no embedding layer, or a
 * layer the network does not have (then drift monitoring goes without the embedding feature).
 */
function embeddingProbe(bundle: LoadedBundle, logger?: Logger): tfl.LayersModel | undefined {
  const layerName = bundle.manifest.model.embeddingLayer;
  if (!layerName) return undefined;
  const model = bundle.model;
  let output: tfl.SymbolicTensor | tfl.SymbolicTensor[];
  try {
    output = model.getLayer(layerName).output;
  } catch {
    logger?.warn(
      { model: bundle.manifest.name, layer: layerName },
      'the bundle names an embedding layer its network does not have; drift monitoring goes without embeddings',
    );
    return undefined;
  }
  if (Array.isArray(output)) return undefined;
  return tfl.model({ inputs: model.inputs, outputs: [output, ...model.outputs] });
}

/**
 * One prediction on a batch of zeros (with embeddings when the model has them, so that path is checked too); NaN or
 * probabilities that do not sum to 1 mean the weights are broken.
 */
async function warmUp(model: ServingModel, batchSize: number): Promise<void> {
  const input = new Float32Array(model.inputShape.reduce((a, b) => a * b, 1));
  const { probabilities, embeddings } = await model.predictBatch(
    Array.from({ length: batchSize }, () => input),
    { embeddings: model.embeddingLayer !== null },
  );
  const bad = probabilities.find((row) => {
    const sum = row.reduce((a, b) => a + b, 0);
    return !row.every(Number.isFinite) || Math.abs(sum - 1) > 1e-3;
  });
  const badEmbedding = embeddings?.find((row) => !row.every(Number.isFinite));
  if (bad || badEmbedding) {
    throw new ModelLoadError(
      'MODEL_WARMUP_FAILED',
      bad
        ? `the warm-up prediction of ${model.name}@${model.version} gave ${Array.from(bad.slice(0, 4)).join(', ')}…, not probabilities`
        : `the warm-up embedding (layer ${model.embeddingLayer}) of ${model.name}@${model.version} is not finite`,
      { hint: 'the weights are broken (NaN or infinite); retrain or re-export the bundle' },
    );
  }
}
