import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { joinUri, type Logger, type Storage } from '@tfmlops/core';
import type { Batch, PreparedDataset } from '@tfmlops/data';
import { type PublishedBundle, publishBundle, writeBundle } from '../bundle/export-bundle.ts';
import type { GitInfo } from '../bundle/provenance.ts';
import { computeReferenceStatistics } from '../bundle/reference.ts';
import type { ExperimentConfig } from '../config.ts';
import { datasetImages } from '../evaluate/dataset-images.ts';
import { evaluateModel } from '../evaluate/evaluate.ts';
import { EVALUATION_FILES, writeEvaluationReport } from '../evaluate/report.ts';
import type { Evaluation } from '../evaluate/types.ts';
import type { EpochRow } from '../tracking/types.ts';

/** The layer every architecture names as its penultimate one: its output is the embedding drift monitoring samples. */
export const EMBEDDING_LAYER = 'embedding';

/**
 * Evaluates the model on the test split in split order (so positions match the dataset's images). Returns undefined
 * when `stopped()` turns true between batches.
 */
export async function evaluateTestSplit(
  model: tfl.LayersModel,
  data: PreparedDataset,
  options: { batchSize: number; stopped: () => boolean },
): Promise<Evaluation | undefined> {
  let interrupted = false;
  async function* untilStopped(): AsyncGenerator<Batch> {
    for await (const batch of data.batches('test', { batchSize: options.batchSize, shuffle: false })) {
      if (options.stopped()) {
        interrupted = true;
        tf.dispose([batch.xs, batch.ys]);
        return;
      }
      yield batch;
    }
  }
  const evaluation = await evaluateModel(model, untilStopped(), { classNames: data.classNames });
  return interrupted ? undefined : evaluation;
}

/**
 * Writes the evaluation into the run directory: evaluation.json always; with `pictures`, the confusion matrix,
 * reliability diagram, most confident mistakes and loss/accuracy curves as PNGs.
 */
export async function writeEvaluation(
  evaluation: Evaluation,
  options: {
    storage: Storage;
    runDir: string;
    pictures: boolean;
    data: PreparedDataset;
    history: readonly EpochRow[];
    metadata: Record<string, unknown>;
    logger: Logger;
  },
): Promise<void> {
  const { storage, runDir } = options;
  if (!options.pictures) {
    const json = { split: 'test', ...options.metadata, ...evaluation };
    await storage.write(joinUri(runDir, EVALUATION_FILES.json), `${JSON.stringify(json, null, 2)}\n`);
    return;
  }
  await writeEvaluationReport(evaluation, {
    storage,
    dir: runDir,
    split: 'test',
    images: datasetImages(options.data, 'test'),
    imageShape: options.data.imageShape,
    history: options.history,
    metadata: options.metadata,
    logger: options.logger,
  });
}

/**
 * Writes the model bundle into the run's `bundle/` directory (weights, model.json, reference statistics of the
 * validation split, bundle.json with labels, normalisation and checksums) and publishes it to
 * `<export.uri>/<name>/<version>/` with `latest.json` last.
 */
export async function exportBundle(
  model: tfl.LayersModel,
  options: {
    config: ExperimentConfig;
    resolvedConfig: Record<string, unknown>;
    data: PreparedDataset;
    storage: Storage;
    logger: Logger;
    runDir: string;
    git: GitInfo;
    metrics: Record<string, number | null>;
    testAccuracy: number | null;
  },
): Promise<PublishedBundle> {
  const { config, data, storage, logger } = options;
  const batchSize = config.train.batchSize * 4;
  const embeddingLayer = model.layers.some((layer) => layer.name === EMBEDDING_LAYER)
    ? EMBEDDING_LAYER
    : null;
  const reference = await computeReferenceStatistics(model, {
    batches: data.batches(data.count('val') > 0 ? 'val' : 'train', { batchSize, shuffle: false }),
    split: data.count('val') > 0 ? 'val' : 'train',
    normalization: data.manifest.normalization,
    numClasses: data.classNames.length,
    embeddingLayer,
    seed: config.train.seed,
  });
  const bundleDir = joinUri(options.runDir, 'bundle');
  await writeBundle(
    bundleDir,
    {
      model,
      name: config.name,
      labels: data.classNames,
      inputShape: data.imageShape,
      preprocess: data.manifest.preprocess,
      normalization: data.manifest.normalization,
      architecture: config.model.architecture,
      embeddingLayer,
      reference,
      metrics: options.metrics,
      dataset: { name: data.manifest.name, version: data.version, uri: data.uri },
      config: options.resolvedConfig,
      git: options.git,
      run: options.runDir,
      quantize: config.export.quantize,
      accuracy: options.testAccuracy,
      measureAccuracy: async (quantized) =>
        (await evaluateTestSplit(quantized, data, { batchSize, stopped: () => false }))?.accuracy ??
        Number.NaN,
    },
    storage,
  );
  return publishBundle(bundleDir, config.export.uri, { storage, logger });
}
