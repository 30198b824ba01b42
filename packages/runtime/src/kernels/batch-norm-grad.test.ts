import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import { FusedBatchNorm, getGradient } from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerGradientOverrides, restoreStockGradients } from './batch-norm-grad.ts';
import { maxErrorRelativeToLargest, seededValues } from './gradient-check.ts';
import { registerWasmTrainingKernels } from './index.ts';

const SHAPE: [number, number, number, number] = [3, 5, 4, 6]; // n, h, w, c: odd sizes, c not a multiple of 4
const SIZE = 3 * 5 * 4 * 6;
const C = SHAPE[3];
const EPSILON = 1e-3;
/** Metric: max |ours − stock| / max |stock| per gradient (gradient-check.ts), float32 sums in another order (measured ~1e-7). */
const TOLERANCE = 1e-6;

type Inputs = {
  x: tf.Tensor4D;
  scale: tf.Tensor1D;
  offset: tf.Tensor1D;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
};
type Case = { name: string; inputs: Array<keyof Inputs>; f: (t: Inputs) => tf.Tensor };

/** A sum weighted by fixed random values, so dy is not uniform (a uniform dy hides errors in dmean and dvariance). */
const weights = () => tf.tensor4d(seededValues(SIZE, 9), SHAPE);

/**
 * Training mode, as tfjs-layers runs it: the statistics come from the batch, so the gradient flows through them.
 * `learnedAffine: false` is batch norm without a learned scale and offset: fixed ones and zeros. (Passing none at
 * all cannot be differentiated in tfjs-core 4.22, stock gradient or ours: the kernel's gradient saves its `scale`
 * input for the backward pass, and saving a missing input throws.)
 */
const batchStatistics = (t: Inputs, learnedAffine: boolean) => {
  const { mean, variance } = tf.moments(t.x, [0, 1, 2]);
  return learnedAffine
    ? tf.batchNorm(t.x, mean, variance, t.offset, t.scale, EPSILON)
    : tf.batchNorm(t.x, mean, variance, tf.zeros([C]), tf.ones([C]), EPSILON);
};

const CASES: Case[] = [
  {
    name: 'training mode with scale and offset',
    inputs: ['x', 'scale', 'offset'],
    f: (t) => batchStatistics(t, true),
  },
  {
    name: 'training mode without a learned scale or offset',
    inputs: ['x'],
    f: (t) => batchStatistics(t, false),
  },
  {
    name: 'given statistics (inference mode), every input',
    inputs: ['x', 'mean', 'variance', 'scale', 'offset'],
    f: (t) => tf.batchNorm(t.x, t.mean, t.variance, t.offset, t.scale, EPSILON),
  },
];

function inputs(): Inputs {
  return {
    x: tf.tensor4d(seededValues(SIZE, 1), SHAPE),
    scale: tf.tensor1d(seededValues(C, 2)),
    offset: tf.tensor1d(seededValues(C, 3)),
    mean: tf.tensor1d(seededValues(C, 4)),
    variance: tf.tensor1d(seededValues(C, 5).map(Math.abs)),
  };
}

/** The gradients of the case's weighted sum, and the kernels the whole computation ran. */
async function gradients(c: Case): Promise<{ values: Float32Array[]; kernels: string[] }> {
  const t = inputs();
  const w = weights();
  let values: Float32Array[] = [];
  const profile = await tf.profile(() => {
    const grads = tf.grads((...xs: tf.Tensor[]) => {
      const given = { ...t, ...Object.fromEntries(c.inputs.map((name, i) => [name, xs[i]])) } as Inputs;
      return tf.sum(tf.mul(c.f(given), w));
    })(c.inputs.map((name) => t[name]));
    values = grads.map((g) => g.dataSync() as Float32Array);
    tf.dispose(grads);
  });
  tf.dispose([...Object.values(t), w]);
  return { values, kernels: profile.kernelNames };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(registerGradientOverrides);

describe('broadcasting FusedBatchNorm gradient (cpu, against tfjs-core 4.22’s own)', () => {
  it.each(CASES)('$name: same gradients as the stock one, without Tile', async (c) => {
    restoreStockGradients();
    const stock = await gradients(c);
    registerGradientOverrides();
    const ours = await gradients(c);
    expect(stock.kernels).toContain('Tile');
    expect(ours.kernels).not.toContain('Tile');
    expect(ours.values).toHaveLength(c.inputs.length);
    for (const [i, name] of c.inputs.entries()) {
      const error = maxErrorRelativeToLargest(ours.values[i]!, stock.values[i]!);
      expect(error, `d${name}`).toBeLessThan(TOLERANCE);
    }
  });

  it('statistics shaped like x (not per channel) take the stock gradient', async () => {
    const c: Case = {
      name: 'full-shape statistics',
      inputs: ['x'],
      f: (t) =>
        tf.batchNorm(
          t.x,
          tf.mul(t.x, 0.5),
          tf.add(tf.square(t.x), 1),
          tf.zeros(SHAPE),
          tf.ones(SHAPE),
          EPSILON,
        ),
    };
    restoreStockGradients();
    const stock = await gradients(c);
    registerGradientOverrides();
    const ours = await gradients(c);
    expect(ours.values).toEqual(stock.values);
  });

  it('registerWasmTrainingKernels installs it, idempotently, and leaves no tensors behind', async () => {
    restoreStockGradients();
    const stock = getGradient(FusedBatchNorm);
    registerWasmTrainingKernels();
    const installed = getGradient(FusedBatchNorm);
    expect(installed).not.toBe(stock);
    registerWasmTrainingKernels();
    registerGradientOverrides();
    expect(getGradient(FusedBatchNorm)).toBe(installed);
    const before = tf.memory().numTensors;
    await gradients(CASES[0]!);
    expect(tf.memory().numTensors).toBe(before);
  });
});
