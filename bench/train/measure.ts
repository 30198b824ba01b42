import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createCnn } from '@tfmlops/model';
import { createTrainStep, FusedAdam, type TrainStep } from '@tfmlops/runtime';
import { percentile } from '../lib/stats.ts';
import { createDataParallelStep } from './data-parallel.ts';
import type { TrainProtocol, TrainSample } from './types.ts';

/** The network under test: the product's own CNN, as `pnpm train` builds it for MNIST. */
export const benchNetwork = (): tfl.LayersModel =>
  createCnn({ inputShape: [28, 28, 1], numClasses: 10, seed: 42 });

const LEARNING_RATE = 1e-3;
const INPUT: [number, number, number] = [28, 28, 1];

/** How a training step runs: see bench/train/engines.ts. */
export type StepKind = 'lean' | 'minimize' | 'data-parallel';

const crossEntropy = (labels: tf.Tensor, logits: tf.Tensor) =>
  tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;

/**
 * One single-process training step of `model`: `lean` is createTrainStep + FusedAdam (what `pnpm train` runs on one
 * process), `minimize` is tf.train.adam's minimize (what a plain TF.js user writes). Returns the step (a loss scalar
 * the caller disposes) and the optimizer to dispose afterwards.
 */
export function singleProcessStep(
  model: tfl.LayersModel,
  kind: Exclude<StepKind, 'data-parallel'>,
): { step: TrainStep; optimizer: { dispose(): void } } {
  if (kind === 'lean') {
    const optimizer = new FusedAdam({ learningRate: LEARNING_RATE });
    return { optimizer, step: createTrainStep(model, optimizer, crossEntropy) };
  }
  const optimizer = tf.train.adam(LEARNING_RATE);
  return {
    optimizer,
    step: (xs, ys) =>
      optimizer.minimize(() => crossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor), true)!,
  };
}

async function stepper(
  model: tfl.LayersModel,
  kind: StepKind,
  workers: number,
): Promise<{ step(xs: tf.Tensor, ys: tf.Tensor): Promise<void>; dispose(): Promise<void> }> {
  if (kind === 'data-parallel') return createDataParallelStep(model, workers, LEARNING_RATE);
  const { step, optimizer } = singleProcessStep(model, kind);
  return {
    step: async (xs, ys) => {
      const loss = step(xs, ys);
      loss.dataSync();
      loss.dispose();
    },
    dispose: async () => optimizer.dispose(),
  };
}

function imagesPerSecond(run: () => void, calls: number, imagesPerCall: number): number {
  const start = performance.now();
  for (let i = 0; i < calls; i += 1) run();
  return (calls * imagesPerCall) / ((performance.now() - start) / 1000);
}

/**
 * The bench network on the current TF.js backend, by the protocol PyTorch's peer follows too: training images/s
 * (loss read back every step) after untimed warm-up steps, batch-256 and batch-64 inference images/s (one predict
 * call per batch, result read back), and single-image latency percentiles.
 */
export async function measureCurrentBackend(
  protocol: TrainProtocol,
  kind: StepKind,
  workers = 0,
): Promise<TrainSample> {
  const model = benchNetwork();
  const training = await stepper(model, kind, workers);
  const xs = tf.randomUniform([protocol.batch, ...INPUT]);
  const ys = tf.oneHot(tf.randomUniform([protocol.batch], 0, 10, 'int32') as tf.Tensor1D, 10);
  for (let i = 0; i < protocol.warmupSteps; i += 1) await training.step(xs, ys);
  const start = performance.now();
  for (let i = 0; i < protocol.trainSteps; i += 1) await training.step(xs, ys);
  const trainImagesPerSecond = (protocol.trainSteps * protocol.batch) / ((performance.now() - start) / 1000);
  await training.dispose();
  tf.dispose([xs, ys]);

  // One predict call per batch, as PyTorch runs it (layers' predict would otherwise split it into 32s).
  const infer = (input: tf.Tensor) =>
    tf.tidy(() => (model.predict(input, { batchSize: input.shape[0] }) as tf.Tensor).dataSync());
  const inferRate = (batch: number, calls: number) => {
    const input = tf.randomUniform([batch, ...INPUT]);
    for (let i = 0; i < protocol.inferWarmup; i += 1) infer(input);
    const rate = imagesPerSecond(() => infer(input), calls, batch);
    input.dispose();
    return rate;
  };
  const inferImagesPerSecond = inferRate(256, protocol.inferRuns);
  const inferBatch64ImagesPerSecond = inferRate(64, protocol.inferRuns * 4);

  const one = tf.randomUniform([1, ...INPUT]);
  for (let i = 0; i < protocol.latencyWarmup; i += 1) infer(one);
  const latencies: number[] = [];
  for (let i = 0; i < protocol.latencyRuns; i += 1) {
    const t = performance.now();
    infer(one);
    latencies.push(performance.now() - t);
  }
  one.dispose();
  model.dispose();
  return {
    trainImagesPerSecond,
    inferImagesPerSecond,
    inferBatch64ImagesPerSecond,
    latencyP50Ms: percentile(latencies, 0.5),
    latencyP99Ms: percentile(latencies, 0.99),
  };
}
