import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { FusedAdam } from './kernels/fused-adam.ts';
import { maxRelativeError, seededValues } from './kernels/gradient-check.ts';
import { registerWasmTrainingKernels } from './kernels/index.ts';
import { createLoss } from './loss.ts';
import { createTrainStep, optimizerApplier } from './train-step.ts';

beforeAll(() => {
  registerWasmTrainingKernels();
});

/** Small conv net with fixed initial weights, so two builds are identical. */
function smallCnn(): tfl.LayersModel {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 3 }),
    ],
  });
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(seededValues(w.size, 100 + i), w.shape)));
  return model;
}

function batch(): { xs: tf.Tensor; ys: tf.Tensor } {
  const labels = [0, 1, 2, 1, 0, 2];
  return {
    xs: tf.tensor4d(seededValues(6 * 64, 7), [6, 8, 8, 1]),
    ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 3),
  };
}

const loss = createLoss({ kind: 'softmax-cross-entropy' });

async function trainedWeights(backend: string, optimizer: () => tf.Optimizer | FusedAdam, steps: number) {
  await tf.setBackend(backend);
  const model = smallCnn();
  const { xs, ys } = batch();
  const opt = optimizer();
  const step = createTrainStep(model, opt instanceof FusedAdam ? opt : optimizerApplier(opt), loss);
  const losses: number[] = [];
  for (let i = 0; i < steps; i += 1) {
    const value = step(xs, ys);
    losses.push((await value.data())[0]!);
    value.dispose();
  }
  const weights = await Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array));
  tf.dispose([xs, ys]);
  opt.dispose();
  model.dispose();
  return { weights, losses };
}

describe('createTrainStep + FusedAdam', () => {
  it.each(['wasm', 'cpu'])(
    'FusedAdam on %s gives the weights tf.train.adam gives on cpu',
    async (backend) => {
      const reference = await trainedWeights('cpu', () => tf.train.adam(0.01), 4);
      const fused = await trainedWeights(backend, () => new FusedAdam({ learningRate: 0.01 }), 4);
      for (const [i, w] of reference.weights.entries())
        expect(maxRelativeError(fused.weights[i]!, w)).toBeLessThan(1e-4);
      // The updates are real: weights moved from their initial values.
      expect(maxRelativeError(reference.weights[0]!, seededValues(36, 100))).toBeGreaterThan(1e-3);
    },
  );

  it('loss falls on wasm with a flat tensor count', async () => {
    await tf.setBackend('wasm');
    const model = smallCnn();
    const { xs, ys } = batch();
    const adam = new FusedAdam({ learningRate: 0.02 });
    const step = createTrainStep(model, adam, loss);
    const losses: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < 15; i += 1) {
      const value = step(xs, ys);
      losses.push(value.dataSync()[0]!);
      value.dispose();
      counts.push(tf.memory().numTensors);
    }
    expect(losses[14]!).toBeLessThan(losses[0]! * 0.7);
    expect(new Set(counts).size).toBe(1);
    expect(adam.iterations).toBe(15);
    tf.dispose([xs, ys]);
    model.dispose();
  });
});
