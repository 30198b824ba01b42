import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { joinUri, type Logger, type Storage } from '@tfmlops/core';
import { type LoadSourceFn, openDataset, prepareDataset } from '@tfmlops/data';
import {
  createLoss,
  createTrainStep,
  DataParallelTrainer,
  FusedAdam,
  type LossSpec,
  type MachineProbes,
  optimizerApplier,
  planDataParallel,
  selectBackend,
  type TrainStep,
} from '@tfmlops/runtime';
import { buildModel } from './architectures/factories.ts';
import type { ExperimentConfig } from './config.ts';

export type { ExperimentConfig } from './config.ts';

import { saveModel } from './save-model.ts';
import type { TrainingData, TrainingSplit } from './training-data.ts';

export interface TrainDependencies {
  storage: Storage;
  logger: Logger;
  probes: MachineProbes;
  loadSource: LoadSourceFn;
}

export interface EpochMetrics {
  epoch: number;
  loss: number;
  valAccuracy: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface TrainResult {
  runUri: string;
  backend: string;
  datasetVersion: string;
  epochs: EpochMetrics[];
  testAccuracy: number;
}

/**
 * Trains one experiment end to end: pick the backend, prepare (or reuse) the versioned dataset, build the network
 * from the architecture map, run the epochs, evaluate on the test split, and write model + metrics to the run
 * directory. The CLI and the tests call this same function.
 */
export async function train(config: ExperimentConfig, deps: TrainDependencies): Promise<TrainResult> {
  const { storage, logger } = deps;
  const backend = await selectBackend(config.runtime, { probes: deps.probes, logger });
  const prepared = await prepareDataset(config.data, { storage, logger, loadSource: deps.loadSource });
  const data: TrainingData = await openDataset(prepared.uri, { storage });
  logger.info({ dataset: prepared.uri, version: data.version, train: data.count('train') }, 'dataset ready');

  const model = await buildModel(
    config.model,
    { inputShape: data.imageShape, numClasses: data.classNames.length, seed: config.train.seed },
    { storage },
  );
  const optimizer = tf.train.adam(config.train.learningRate);
  const loss: LossSpec = { kind: 'softmax-cross-entropy' };
  const { workers, reason } = planDataParallel(config.runtime, backend.backend, model);
  const parallel = workers > 0 ? await DataParallelTrainer.create(model, { workers, loss }) : undefined;
  logger.info(
    { workers, reason },
    parallel ? 'data-parallel training on worker threads' : 'one training thread',
  );
  // On one process, a lean step: on wasm with Adam fused into one SIMD pass per weight (same update as tf's adam).
  const singleStep = createTrainStep(
    model,
    backend.backend === 'wasm'
      ? new FusedAdam({ learningRate: config.train.learningRate })
      : optimizerApplier(optimizer),
    createLoss(loss),
  );
  const epochs: EpochMetrics[] = [];
  for (let epoch = 1; epoch <= config.train.epochs; epoch += 1) {
    const started = performance.now();
    let lossSum = 0;
    let seen = 0;
    for await (const batch of data.batches('train', {
      batchSize: config.train.batchSize,
      shuffle: true,
      seed: config.train.seed + epoch,
    })) {
      const size = batch.xs.shape[0]!;
      lossSum += (await trainStep(singleStep, optimizer, batch.xs, batch.ys, parallel)) * size;
      seen += size;
      tf.dispose([batch.xs, batch.ys]);
    }
    const seconds = (performance.now() - started) / 1000;
    const valAccuracy = await accuracy(model, data, 'val', config.train.batchSize);
    const metrics = {
      epoch,
      loss: lossSum / Math.max(1, seen),
      valAccuracy,
      seconds,
      imagesPerSecond: seen / seconds,
    };
    epochs.push(metrics);
    logger.info(metrics, 'epoch done');
  }
  const testAccuracy = await accuracy(model, data, 'test', config.train.batchSize);
  logger.info({ testAccuracy }, 'test split evaluated');

  const runUri = joinUri(
    config.train.outputDir,
    `${new Date().toISOString().replace(/[:.]/g, '-')}-${config.model.architecture}`,
  );
  await saveModel(model, joinUri(runUri, 'model'), storage);
  const result: TrainResult = {
    runUri,
    backend: backend.backend,
    datasetVersion: data.version,
    epochs,
    testAccuracy,
  };
  await storage.write(joinUri(runUri, 'metrics.json'), `${JSON.stringify({ ...result, config }, null, 2)}\n`);
  // A fixed path naming the newest run, for DVC's metrics and for tools that want "the latest model".
  await storage.write(joinUri(config.train.outputDir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  await parallel?.dispose();
  optimizer.dispose();
  model.dispose();
  return result;
}

/** One optimizer step on a batch, split across worker threads when a parallel trainer is given; returns the loss. */
async function trainStep(
  singleStep: TrainStep,
  optimizer: tf.Optimizer,
  xs: tf.Tensor,
  ys: tf.Tensor,
  parallel: DataParallelTrainer | undefined,
): Promise<number> {
  if (parallel) return parallel.step(xs, ys, optimizerApplier(optimizer));
  const loss = singleStep(xs, ys);
  const value = (await loss.data())[0]!;
  loss.dispose();
  return value;
}

/** Top-1 accuracy of the model on one split. */
export async function accuracy(
  model: tfl.LayersModel,
  data: TrainingData,
  split: TrainingSplit,
  batchSize: number,
): Promise<number> {
  let correct = 0;
  let total = 0;
  for await (const batch of data.batches(split, { batchSize: batchSize * 4, shuffle: false, seed: 0 })) {
    const hits = tf.tidy(() => {
      const predicted = tf.argMax(model.predict(batch.xs) as tf.Tensor, -1);
      return tf.sum(tf.cast(tf.equal(predicted, tf.argMax(batch.ys, -1)), 'int32')).dataSync()[0]!;
    });
    correct += hits;
    total += batch.xs.shape[0]!;
    tf.dispose([batch.xs, batch.ys]);
  }
  return total === 0 ? Number.NaN : correct / total;
}
