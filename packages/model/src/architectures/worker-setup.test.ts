import * as tf from '@tensorflow/tfjs-core';
import {
  createLoss,
  DataParallelTrainer,
  lossAndGradients,
  planDataParallel,
  trainableVariables,
} from '@tfmlops/runtime';
import { beforeAll, expect, it } from 'vitest';
import { tinyBatch, useWasm } from './architectures.test-support.ts';
import { createVit } from './vit.ts';
import { MODEL_WORKER_SETUP } from './worker-setup.ts';

beforeAll(useWasm);

it('a ViT trains on data-parallel workers with MODEL_WORKER_SETUP: planned, rebuilt, the whole batch’s gradients', async () => {
  const vit = createVit({
    inputShape: [8, 8, 1],
    numClasses: 3,
    seed: 4,
    patchSize: 4,
    dim: 8,
    depth: 1,
    heads: 2,
  });
  const config = { dataParallelWorkers: 'auto' as const };
  // Without the setup the plan keeps a ViT in one thread (its custom layers would not load in a worker).
  expect(planDataParallel(config, 'wasm', vit, { cores: 2 })).toMatchObject({
    workers: 0,
    reason: expect.stringMatching(/layer 'class_token' is a ClassToken/),
  });
  const plan = planDataParallel(config, 'wasm', vit, { cores: 2, setup: [MODEL_WORKER_SETUP] });
  expect(plan.workers).toBe(1);

  const loss = { kind: 'softmax-cross-entropy' } as const;
  const trainer = await DataParallelTrainer.create(vit, {
    workers: plan.workers,
    loss,
    setup: [MODEL_WORKER_SETUP],
  });
  try {
    const { xs, ys } = tinyBatch([8, 8, 1], 3, 6, 5);
    const reference = tf.tidy(() =>
      lossAndGradients(vit, xs, ys, createLoss(loss)).grads.map((g) => g.dataSync() as Float32Array),
    );
    const seen: tf.NamedTensorMap[] = [];
    await trainer.step(xs, ys, {
      applyGradients: (grads) =>
        seen.push(Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.clone()]))),
    });
    trainableVariables(vit).forEach((v, i) => {
      const got = seen[0]![v.name]!.dataSync() as Float32Array;
      const largest = Math.max(...reference[i]!.map(Math.abs));
      const error = Math.max(...got.map((g, j) => Math.abs(g - reference[i]![j]!)));
      // Metric: max |a - b| / max |b| per variable.
      expect(error / Math.max(largest, 1e-12), v.name).toBeLessThan(1e-5);
    });
    tf.dispose([xs, ys, ...Object.values(seen[0]!)]);
  } finally {
    await trainer.dispose();
    vit.dispose();
  }
});
