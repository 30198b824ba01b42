import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { BackendError, ConfigError, DataError } from '@tfmlops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FusedAdam } from '../kernels/fused-adam.ts';
import { maxRelativeError, seededValues } from '../kernels/gradient-check.ts';
import { registerWasmTrainingKernels } from '../kernels/index.ts';
import { createLoss, type LossSpec } from '../loss.ts';
import { type GradientApplier, optimizerApplier } from '../train-step.ts';
import { DataParallelTrainer } from './data-parallel-trainer.ts';
import { CHANNEL_SCALE_SETUP, ChannelScale } from './fixtures/channel-scale.ts';
import { lossAndGradients, trainableVariables } from './gradients.ts';

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

function batch(size: number, seed: number): { xs: tf.Tensor; ys: tf.Tensor } {
  return {
    xs: tf.tensor4d(seededValues(size * 144, seed), [size, 12, 12, 1]),
    ys: tf.oneHot(
      tf.tensor1d(
        [...Array(size).keys()].map((i) => i % 3),
        'int32',
      ),
      3,
    ),
  };
}

/** Wraps an applier and keeps a copy of the gradients it was given. */
function recording(inner: GradientApplier): GradientApplier & { seen: Map<string, Float32Array>[] } {
  const seen: Map<string, Float32Array>[] = [];
  return {
    seen,
    applyGradients(gradients) {
      seen.push(new Map(Object.entries(gradients).map(([name, g]) => [name, g.dataSync() as Float32Array])));
      inner.applyGradients(gradients);
    },
  };
}

const SMOOTHED: LossSpec = { kind: 'softmax-cross-entropy', labelSmoothing: 0.1 };
let trainer: DataParallelTrainer;
let model: tfl.LayersModel;

beforeAll(async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  model = smallCnn();
  // One worker: a batch of 11 splits 6 (main thread, with the remainder) + 5.
  trainer = await DataParallelTrainer.create(model, { workers: 1, loss: SMOOTHED });
});
afterAll(() => trainer.dispose());

describe('DataParallelTrainer', () => {
  it('hands the given applier the whole batch’s gradients of the spec’s loss (label smoothing included)', async () => {
    const { xs, ys } = batch(11, 3);
    const reference = tf.tidy(() => {
      const { loss, grads } = lossAndGradients(model, xs, ys, createLoss(SMOOTHED));
      return { loss: loss.dataSync()[0]!, grads: grads.map((g) => g.dataSync() as Float32Array) };
    });
    const applier = recording(optimizerApplier(tf.train.sgd(0.5)));
    const before = model.getWeights().map((w) => w.dataSync() as Float32Array);
    const loss = await trainer.step(xs, ys, applier);

    expect(loss).toBeCloseTo(reference.loss, 5);
    expect(applier.seen).toHaveLength(1);
    const variables = trainableVariables(model);
    expect([...applier.seen[0]!.keys()]).toEqual(variables.map((v) => v.name));
    // Metric: max |a - b| / max(1, |b|) per element (gradient-check.ts).
    variables.forEach((v, i) => {
      expect(maxRelativeError(applier.seen[0]!.get(v.name)!, reference.grads[i]!)).toBeLessThan(1e-5);
    });
    // ... and the applier's update landed in the model: w - 0.5 g.
    const after = model.getWeights().map((w) => w.dataSync() as Float32Array);
    const expected = before[0]!.map((w, j) => w - 0.5 * reference.grads[0]![j]!);
    expect(maxRelativeError(after[0]!, expected)).toBeLessThan(1e-5);
    tf.dispose([xs, ys]);
  });

  it('trains with FusedAdam as the applier: loss falls, one update per step, no tensors accumulate', async () => {
    const { xs, ys } = batch(16, 5);
    const adam = new FusedAdam({ learningRate: 0.02 });
    const losses: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      losses.push(await trainer.step(xs, ys, adam));
      counts.push(tf.memory().numTensors);
    }
    expect(adam.iterations).toBe(10);
    expect(losses[9]!).toBeLessThan(losses[0]! * 0.7);
    expect(new Set(counts).size).toBe(1);
    adam.dispose();
    tf.dispose([xs, ys]);
  });

  it('a batch that does not fit the model is a DataError naming the shapes; the trainer stays usable', async () => {
    const good = batch(9, 8);
    const wrongImage = tf.ones([9, 10, 10, 1]);
    const sgd = optimizerApplier(tf.train.sgd(0.1));
    const count = tf.memory().numTensors;
    const error = await trainer.step(wrongImage, good.ys, sgd).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).message).toMatch(/inputs \[9,10,10,1\] .* model's input \[batch,12,12,1\]/);
    await expect(trainer.step(good.xs, tf.slice(good.ys, 0, 4), sgd)).rejects.toThrow(/labels \[4,3\]/);
    expect(tf.memory().numTensors).toBe(count + 1); // the slice above
    expect(Number.isFinite(await trainer.step(good.xs, good.ys, sgd))).toBe(true);
    tf.dispose([wrongImage, good.xs, good.ys]);
  });

  it('splits over two workers too; a worker that dies rejects the step with a BackendError, and every later step', async () => {
    const own = await DataParallelTrainer.create(smallCnn(), { workers: 2, loss: SMOOTHED });
    const ownModel = (own as unknown as { model: tfl.LayersModel }).model;
    // A batch of 11 splits 5 (main thread, with the remainder) + 3 + 3; the gradients are the whole batch's.
    const { xs, ys } = batch(11, 9);
    const reference = tf.tidy(() =>
      lossAndGradients(ownModel, xs, ys, createLoss(SMOOTHED)).grads.map((g) => g.dataSync() as Float32Array),
    );
    const applier = recording(optimizerApplier(tf.train.sgd(0.1)));
    await own.step(xs, ys, applier);
    trainableVariables(ownModel).forEach((v, i) => {
      expect(maxRelativeError(applier.seen[0]!.get(v.name)!, reference[i]!)).toBeLessThan(1e-5);
    });

    const count = tf.memory().numTensors;
    // What an out-of-memory kill or a native crash looks like from the main thread: the thread exits mid-step,
    // here as the step's message is sent to it (so the main thread is certainly waiting for it).
    const dying = (own as unknown as { workers: Worker[] }).workers[1]!;
    dying.postMessage = () => void dying.terminate();
    const error = await own.step(xs, ys, applier).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).message).toMatch(
      /gradient worker 2 of 2 exited unexpectedly \(exit code 1\); data-parallel training cannot continue/,
    );
    expect((error as BackendError).hint).toMatch(/runtime\.dataParallelWorkers=0/);
    expect(tf.memory().numTensors).toBe(count);
    await expect(own.step(xs, ys, applier)).rejects.toBe(error);
    await own.dispose();
    // Idempotent, and what `await using` calls on the way out of a block.
    await own[Symbol.asyncDispose]();
    await expect(own.step(xs, ys, applier)).rejects.toThrow(/disposed/);
    tf.dispose([xs, ys]);
  });

  it('a change of what trains after create (unfreezing, freezing) fails the step, and the trainer stays usable', async () => {
    const { xs, ys } = batch(8, 12);
    const sgd = optimizerApplier(tf.train.sgd(0.1));
    const dense = model.layers[3]!;
    dense.trainable = false;
    const error = await trainer.step(xs, ys, sgd).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).code).toBe('BACKEND_WORKER_STALE');
    expect((error as BackendError).message).toMatch(
      /trainable variables changed since this data-parallel trainer was created \(4 then, 2 now; .*dense.*kernel among those changed\)/,
    );
    expect((error as BackendError).hint).toMatch(/create a new one .*unfreezeTop/);
    dense.trainable = true;
    expect(Number.isFinite(await trainer.step(xs, ys, sgd))).toBe(true);
    tf.dispose([xs, ys]);
  });

  it('refuses a network with batch norm, naming the layer, before starting any thread', async () => {
    const withBatchNorm = tfl.sequential({
      layers: [
        tfl.layers.dense({ inputShape: [4], units: 8 }),
        tfl.layers.batchNormalization({ name: 'bn_after_dense' }),
        tfl.layers.dense({ units: 3 }),
      ],
    });
    const error = await DataParallelTrainer.create(withBatchNorm, {
      workers: 1,
      loss: { kind: 'softmax-cross-entropy' },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/layer 'bn_after_dense' is BatchNormalization/);
  });

  it('a custom layer the workers do not know fails create with its layer and class named; a WorkerSetup fixes it', async () => {
    const custom = () =>
      tfl.sequential({
        layers: [
          tfl.layers.dense({
            inputShape: [6],
            units: 5,
            activation: 'relu',
            kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }),
          }),
          new ChannelScale({ name: 'scale_features' }),
          tfl.layers.dense({ units: 3, kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }) }),
        ],
      });
    const loss: LossSpec = { kind: 'softmax-cross-entropy' };
    const [unknown, built] = await Promise.all([
      DataParallelTrainer.create(custom(), { workers: 1, loss }).catch((e: unknown) => e),
      DataParallelTrainer.create(custom(), { workers: 1, loss, setup: [CHANNEL_SCALE_SETUP] }),
    ]);
    expect(unknown).toBeInstanceOf(BackendError);
    expect((unknown as BackendError).code).toBe('BACKEND_WORKER_SETUP');
    expect((unknown as BackendError).message).toMatch(
      /cannot rebuild this model: layer 'scale_features' is a ChannelScale, a class not registered in a worker/,
    );
    expect((unknown as BackendError).hint).toMatch(/WorkerSetup/);

    // With the setup the worker's replica computes the same gradients (ChannelScale's factor included).
    const trained = (built as unknown as { model: tfl.LayersModel }).model;
    const xs = tf.tensor2d(seededValues(9 * 6, 21), [9, 6]);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1, 2], 'int32'), 3);
    const reference = tf.tidy(() =>
      lossAndGradients(trained, xs, ys, createLoss(loss)).grads.map((g) => g.dataSync() as Float32Array),
    );
    const applier = recording(optimizerApplier(tf.train.sgd(0.1)));
    await built.step(xs, ys, applier);
    const variables = trainableVariables(trained);
    expect(variables.map((v) => v.name)).toContainEqual(expect.stringMatching(/scale_features\/factor/));
    variables.forEach((v, i) => {
      expect(maxRelativeError(applier.seen[0]!.get(v.name)!, reference[i]!)).toBeLessThan(1e-5);
    });

    // A worker that dies between steps fails the next step instead of leaving it waiting forever.
    await (built as unknown as { workers: Worker[] }).workers[0]!.terminate();
    await expect(built.step(xs, ys, applier)).rejects.toThrow(/gradient worker 1 of 1 exited unexpectedly/);
    await built.dispose();
    tf.dispose([xs, ys]);
  });

  it('an error after create ends the process with the error, with dispose in finally and even without it', async () => {
    const script = fileURLToPath(new URL('./fixtures/error-after-trainer.ts', import.meta.url));
    const run = (mode: string) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', script, mode], { timeout: 60_000 }).then(
        () => ({ code: 0, stdout: '', stderr: '', killed: false }),
        (e: { code: number; stdout: string; stderr: string; killed: boolean }) => e,
      );
    // A hang is what this guards against: execFile kills the child at the timeout (killed: true). The exit code
    // is non-zero (7, not 1: tfjs-backend-wasm's Emscripten glue rethrows from its own rejection handler).
    const [disposed, forgotten] = await Promise.all([run('dispose'), run('forget')]);
    for (const outcome of [disposed, forgotten]) {
      expect(outcome).toMatchObject({ killed: false, stdout: 'stepped\n' });
      expect(outcome.code).not.toBe(0);
      expect(outcome.stderr).toMatch(/upload to gs:\/\/bucket\/run\/model\.json failed/);
    }
  }, 90_000);
});
