import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { DataParallelTrainer } from '@tfmlops/core';

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

/** Trains and runs the reference CNN on the current tfjs backend; steps scale the measurement to its speed. */
export async function measureCurrentBackend(
  engine: string,
  trainSteps: number,
  latencyRuns: number,
  dataParallelWorkers = 0,
): Promise<TrainBenchResult> {
  const model = referenceCnn();
  const optimizer = tf.train.adam(0.001);
  const xs = tf.randomUniform([BATCH, 28, 28, 1]);
  const ys = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32') as tf.Tensor1D, 10);
  const parallel =
    dataParallelWorkers > 0
      ? await DataParallelTrainer.create(model, { workers: dataParallelWorkers })
      : undefined;
  const step = async () => {
    if (parallel) {
      await parallel.step(xs, ys, optimizer);
      return;
    }
    const loss = optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar,
      true,
    )!;
    loss.dataSync();
    loss.dispose();
  };
  for (let i = 0; i < 2; i += 1) await step();
  let start = performance.now();
  for (let i = 0; i < trainSteps; i += 1) await step();
  const trainSeconds = (performance.now() - start) / 1000;
  await parallel?.dispose();

  const batch = tf.randomUniform([INFER_BATCH, 28, 28, 1]);
  const infer = (input: tf.Tensor) => tf.tidy(() => (model.predict(input) as tf.Tensor).dataSync());
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
