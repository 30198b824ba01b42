import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createTrainStep, DataParallelTrainer, FusedAdam, optimizerApplier } from '@tfmlops/runtime';

export interface TrainBenchResult {
  engine: string;
  trainImagesPerSecond: number;
  inferImagesPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

const BATCH = 64;
const INFER_BATCH = 256;

/** The benchmark's reference CNN, producing logits (softmax is folded into the loss, as PyTorch's peer does). */
export function referenceCnn(): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 128, activation: 'relu' }),
      tfl.layers.dense({ units: 10 }),
    ],
  });
}

export interface MeasureOptions {
  trainSteps: number;
  latencyRuns: number;
  /** `minimize`: optimizer.minimize + tf.train.adam; `lean`: createTrainStep + FusedAdam. */
  step: 'minimize' | 'lean';
  dataParallelWorkers: number;
}

const crossEntropy = (labels: tf.Tensor, logits: tf.Tensor) =>
  tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;

/**
 * One training step of the reference CNN as a benchmark runs it: `lean` is createTrainStep + FusedAdam, `minimize`
 * is tf.train.adam's minimize. Returns the step (loss as a scalar the caller disposes) and its optimizer.
 */
export function referenceTrainStep(
  model: tfl.LayersModel,
  stepKind: MeasureOptions['step'],
): { optimizer: FusedAdam | tf.Optimizer; step: (xs: tf.Tensor, ys: tf.Tensor) => tf.Scalar } {
  if (stepKind === 'lean') {
    const optimizer = new FusedAdam({ learningRate: 0.001 });
    return { optimizer, step: createTrainStep(model, optimizer, crossEntropy) };
  }
  const optimizer = tf.train.adam(0.001);
  return {
    optimizer,
    step: (xs, ys) =>
      optimizer.minimize(() => crossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor), true)!,
  };
}

/**
 * Trains and runs the reference CNN on the current tfjs backend: training images/s over `trainSteps` steps after 2
 * warm-up steps (the loss is read back every step, as a training loop logging it would), batch-256 inference
 * images/s, and single-image latency percentiles.
 */
export async function measureCurrentBackend(
  engine: string,
  { trainSteps, latencyRuns, step: stepKind, dataParallelWorkers }: MeasureOptions,
): Promise<TrainBenchResult> {
  const model = referenceCnn();
  const { optimizer, step: oneStep } = referenceTrainStep(model, stepKind);
  const xs = tf.randomUniform([BATCH, 28, 28, 1]);
  const ys = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32') as tf.Tensor1D, 10);
  const parallel =
    dataParallelWorkers > 0
      ? await DataParallelTrainer.create(model, {
          workers: dataParallelWorkers,
          loss: { kind: 'softmax-cross-entropy' },
        })
      : undefined;
  const step = async () => {
    if (parallel) {
      await parallel.step(xs, ys, optimizer instanceof FusedAdam ? optimizer : optimizerApplier(optimizer));
      return;
    }
    const loss = oneStep(xs, ys);
    loss.dataSync();
    loss.dispose();
  };
  for (let i = 0; i < 2; i += 1) await step();
  let start = performance.now();
  for (let i = 0; i < trainSteps; i += 1) await step();
  const trainSeconds = (performance.now() - start) / 1000;
  await parallel?.dispose();

  const batch = tf.randomUniform([INFER_BATCH, 28, 28, 1]);
  // One predict call per batch, as PyTorch's peer runs it (layers' predict would otherwise split it into 32s).
  const infer = (input: tf.Tensor) =>
    tf.tidy(() => (model.predict(input, { batchSize: INFER_BATCH }) as tf.Tensor).dataSync());
  infer(batch);
  const inferRuns = Math.max(2, Math.ceil(trainSteps / 3));
  start = performance.now();
  for (let i = 0; i < inferRuns; i += 1) infer(batch);
  const inferSeconds = (performance.now() - start) / 1000;

  const one = tf.randomUniform([1, 28, 28, 1]);
  for (let i = 0; i < 5; i += 1) infer(one);
  const latencies: number[] = [];
  for (let i = 0; i < latencyRuns; i += 1) {
    const t = performance.now();
    infer(one);
    latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);
  tf.dispose([xs, ys, batch, one]);
  optimizer.dispose();
  model.dispose();
  return {
    engine,
    trainImagesPerSecond: (trainSteps * BATCH) / trainSeconds,
    inferImagesPerSecond: (inferRuns * INFER_BATCH) / inferSeconds,
    latencyP50Ms: latencies[Math.floor(latencies.length / 2)]!,
    latencyP99Ms: latencies[Math.max(0, Math.ceil(latencies.length * 0.99) - 1)]!,
  };
}
