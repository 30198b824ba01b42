import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxRelativeError, seededValues } from '../kernels/gradient-check.ts';
import { registerWasmTrainingKernels } from '../kernels/index.ts';
import { DataParallelTrainer } from './data-parallel-trainer.ts';
import { dataParallelWorkersFor } from './workers-for.ts';

function smallCnn(): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [12, 12, 1],
        filters: 4,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }),
      }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 3, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
}

let trainer: DataParallelTrainer;
let parallelModel: tfl.LayersModel;

beforeAll(async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  parallelModel = smallCnn();
  trainer = await DataParallelTrainer.create(parallelModel);
});
afterAll(() => trainer.dispose());

describe('DataParallelTrainer', () => {
  it('takes the same optimizer step as single-device training on the whole batch', async () => {
    const reference = smallCnn();
    reference.setWeights(parallelModel.getWeights());
    const xs = tf.tensor4d(seededValues(10 * 144, 3), [10, 12, 12, 1]);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1, 2, 0], 'int32'), 3);
    const referenceOptimizer = tf.train.sgd(0.5);
    const referenceLoss = referenceOptimizer.minimize(
      () =>
        tf.losses.softmaxCrossEntropy(ys, reference.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar,
      true,
    )!;
    const loss = await trainer.step(xs, ys, tf.train.sgd(0.5));
    expect(loss).toBeCloseTo(referenceLoss.dataSync()[0]!, 5);
    const after = parallelModel.getWeights().map((w) => w.dataSync() as Float32Array);
    reference.getWeights().forEach((w, i) => {
      expect(maxRelativeError(after[i]!, w.dataSync() as Float32Array)).toBeLessThan(1e-5);
    });
    tf.dispose([xs, ys, referenceLoss]);
  });

  it('trains: loss falls over steps and no tensors accumulate', async () => {
    const xs = tf.tensor4d(seededValues(16 * 144, 5), [16, 12, 12, 1]);
    const ys = tf.oneHot(
      tf.tensor1d(
        [...Array(16).keys()].map((i) => i % 3),
        'int32',
      ),
      3,
    );
    const optimizer = tf.train.adam(0.05);
    const losses: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      losses.push(await trainer.step(xs, ys, optimizer));
      counts.push(tf.memory().numTensors);
    }
    expect(losses[9]!).toBeLessThan(losses[0]! * 0.7);
    expect(new Set(counts.slice(2)).size).toBe(1);
    tf.dispose([xs, ys]);
  });

  it('splits across several workers with the same result as one device', async () => {
    const model = smallCnn();
    const reference = smallCnn();
    reference.setWeights(model.getWeights());
    const three = await DataParallelTrainer.create(model, { workers: 2 });
    const xs = tf.tensor4d(seededValues(11 * 144, 7), [11, 12, 12, 1]);
    const ys = tf.oneHot(
      tf.tensor1d(
        [...Array(11).keys()].map((i) => i % 3),
        'int32',
      ),
      3,
    );
    await three.step(xs, ys, tf.train.sgd(0.3));
    tf.train
      .sgd(0.3)
      .minimize(
        () =>
          tf.losses.softmaxCrossEntropy(
            ys,
            reference.apply(xs, { training: true }) as tf.Tensor,
          ) as tf.Scalar,
      );
    const after = model.getWeights().map((w) => w.dataSync() as Float32Array);
    reference.getWeights().forEach((w, i) => {
      expect(maxRelativeError(after[i]!, w.dataSync() as Float32Array)).toBeLessThan(1e-5);
    });
    await three.dispose();
    tf.dispose([xs, ys]);
  });
});

describe('dataParallelWorkersFor', () => {
  it('uses every core but one on wasm under auto, nothing on native backends, and honours explicit counts', () => {
    expect(dataParallelWorkersFor({ dataParallelWorkers: 'auto' }, 'wasm', 2)).toBe(1);
    expect(dataParallelWorkersFor({ dataParallelWorkers: 'auto' }, 'wasm', 1)).toBe(0);
    expect(dataParallelWorkersFor({ dataParallelWorkers: 'auto' }, 'tensorflow-gpu', 8)).toBe(0);
    expect(dataParallelWorkersFor({ dataParallelWorkers: 3 }, 'wasm', 2)).toBe(3);
    expect(dataParallelWorkersFor({ dataParallelWorkers: 0 }, 'wasm', 8)).toBe(0);
    expect(dataParallelWorkersFor({ dataParallelWorkers: 'auto', threads: 2 }, 'wasm', 2)).toBe(0);
  });
});
