import * as tf from '@tensorflow/tfjs-core';
import { createLogger } from '@tfmlops/core';
import { createLoss, realMachineProbes, runtimeConfigSchema, selectBackend } from '@tfmlops/runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../architectures/factories.ts';
import { modelConfigSchema } from '../architectures/model-config.ts';
import { createSlotOptimizer } from '../optim/slot-optimizer.ts';
import { optimizerConfigSchema } from '../train-config.ts';
import { oneProcessStep } from './loop.ts';

beforeAll(async () => {
  // The product's backend on a machine without libtensorflow, with its training kernels.
  await selectBackend(runtimeConfigSchema.parse({ backend: 'wasm' }), {
    probes: realMachineProbes({}),
    logger: createLogger({ level: 'silent' }),
  });
});

/** Builds the CNN from `seed` and trains it for 3 steps on fixed batches; returns its weights as plain arrays. */
async function trainThreeSteps(seed: number): Promise<{ initial: number[][]; trained: number[][] }> {
  const model = await buildModel(modelConfigSchema.parse({}), {
    inputShape: [10, 10, 1],
    numClasses: 3,
    seed,
  });
  const initial = model.getWeights().map((w: tf.Tensor) => Array.from(w.dataSync()));
  const optimizer = createSlotOptimizer(optimizerConfigSchema.parse({}), 0.01);
  const step = oneProcessStep(model, optimizer, createLoss({ kind: 'softmax-cross-entropy' }));
  for (let i = 0; i < 3; i += 1) {
    const xs = tf.randomNormal([4, 10, 10, 1], 0, 1, 'float32', 100 + i);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, i % 3], 'int32'), 3);
    const loss = await step(xs, ys);
    expect(Number.isFinite(loss)).toBe(true);
    tf.dispose([xs, ys]);
  }
  const trained = model.getWeights().map((w: tf.Tensor) => Array.from(w.dataSync()));
  optimizer.dispose();
  model.dispose();
  return { initial, trained };
}

describe('train.seed', () => {
  it('seeds weight initialisation (wasm): the same seed gives identical weights at start and after 3 steps, another seed differs', async () => {
    const a = await trainThreeSteps(7);
    const b = await trainThreeSteps(7);
    const c = await trainThreeSteps(8);
    expect(b.initial).toEqual(a.initial);
    expect(b.trained).toEqual(a.trained);
    expect(a.trained).not.toEqual(a.initial);
    expect(c.initial[0]).not.toEqual(a.initial[0]);
  });
});
