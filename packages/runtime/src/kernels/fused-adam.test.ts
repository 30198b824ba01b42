import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { BackendError } from '@tfmlops/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLoss } from '../loss.ts';
import { trainableVariables } from '../parallel/gradients.ts';
import { createTrainStep } from '../train-step.ts';
import { type AdamOptions, decaysByDefault, FusedAdam } from './fused-adam.ts';
import { maxRelativeError, seededValues } from './gradient-check.ts';
import { registerWasmTrainingKernels } from './index.ts';
import type { WasmBackend } from './wasm-access.ts';

beforeAll(() => {
  registerWasmTrainingKernels();
});

const BACKENDS = ['cpu', 'wasm'] as const;

/** AdamW written with tf ops, step by step from Loshchilov & Hutter's Algorithm 2 (PyTorch's parametrisation). */
function referenceAdamW(
  weights: tf.Tensor,
  gradients: tf.Tensor[],
  rates: number[],
  { beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7, weightDecay = 0 } = {},
): Float32Array {
  return tf.tidy(() => {
    let [w, m, v] = [weights, tf.zerosLike(weights), tf.zerosLike(weights)];
    gradients.forEach((g, i) => {
      const t = i + 1;
      m = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
      v = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
      const mHat = tf.div(m, 1 - beta1 ** t);
      const vHat = tf.div(v, 1 - beta2 ** t);
      const adamStep = tf.div(mHat, tf.add(tf.sqrt(vHat), epsilon));
      w = tf.sub(w, tf.mul(rates[i]!, tf.add(adamStep, tf.mul(weightDecay, w))));
    });
    return w.dataSync() as Float32Array;
  });
}

/**
 * Applies `gradients` one step each to a fresh variable of `shape` (a kernel-like [13, 79] unless given), the
 * learning rate set to rates[i] before step i.
 */
function fused(
  initial: Float32Array,
  gradients: Float32Array[],
  rates: number[],
  options: AdamOptions = {},
  shape: number[] = KERNEL_SHAPE,
): Float32Array {
  const variable = tf.variable(tf.tensor(initial, shape));
  const adam = new FusedAdam({ learningRate: rates[0], epsilon: 1e-7, ...options });
  gradients.forEach((g, i) => {
    adam.learningRate = rates[i]!;
    const gradient = tf.tensor(g, shape);
    adam.applyGradients({ [variable.name]: gradient });
    gradient.dispose();
  });
  const out = variable.dataSync() as Float32Array;
  adam.dispose();
  variable.dispose();
  return out;
}

// 1027 values: the SIMD loop's 4-wide body and its scalar tail both run.
const SIZE = 1027;
const KERNEL_SHAPE = [13, 79];
const initial = seededValues(SIZE, 31);
const gradients = [32, 33, 34, 35].map((seed) => seededValues(SIZE, seed));
const rates = [0.01, 0.01, 0.005, 0.0025];

describe.each(BACKENDS)('FusedAdam on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
  });

  it('follows a learning-rate schedule set between steps (Adam computed with tf ops as the reference)', () => {
    const expected = referenceAdamW(
      tf.tensor1d(initial),
      gradients.map((g) => tf.tensor1d(g)),
      rates,
    );
    // Metric: max |a - b| / max(1, |b|) over the weights.
    expect(maxRelativeError(fused(initial, gradients, rates), expected)).toBeLessThan(1e-6);
    // The schedule matters: a constant rate ends elsewhere.
    expect(maxRelativeError(fused(initial, gradients, [0.01, 0.01, 0.01, 0.01]), expected)).toBeGreaterThan(
      1e-3,
    );
  });

  it('with weightDecay is AdamW: decoupled decay lr·λ·w, matching the tf-ops reference', () => {
    const weightDecay = 0.1;
    // Large weights so the decay term is visible next to the Adam step.
    const large = initial.map((w) => 20 * w);
    const expected = referenceAdamW(
      tf.tensor1d(large),
      gradients.map((g) => tf.tensor1d(g)),
      rates,
      {
        weightDecay,
      },
    );
    const actual = fused(large, gradients, rates, { weightDecay });
    expect(maxRelativeError(actual, expected)).toBeLessThan(1e-6);
    expect(maxRelativeError(fused(large, gradients, rates), expected)).toBeGreaterThan(1e-3);
  });

  it('decays kernels but not biases or norm parameters by default; decayFilter chooses otherwise', () => {
    const weightDecay = 0.1;
    const large = initial.map((w) => 20 * w);
    const reference = (decay: number) =>
      referenceAdamW(
        tf.tensor1d(large),
        gradients.map((g) => tf.tensor1d(g)),
        rates,
        { weightDecay: decay },
      );
    const [decayed, plain] = [reference(weightDecay), reference(0)];
    // A 1-D variable (a bias, a batch-norm gamma) takes the plain Adam step by default ...
    expect(maxRelativeError(fused(large, gradients, rates, { weightDecay }, [SIZE]), plain)).toBeLessThan(
      1e-6,
    );
    // ... unless the filter says every variable decays, as PyTorch's AdamW over model.parameters() does.
    const everything = fused(large, gradients, rates, { weightDecay, decayFilter: () => true }, [SIZE]);
    expect(maxRelativeError(everything, decayed)).toBeLessThan(1e-6);
    // A filter can exempt a kernel too (by name, as timm exempts a ViT's position embeddings).
    const seen: string[] = [];
    const exempt = fused(large, gradients, rates, {
      weightDecay,
      decayFilter: (variable) => {
        seen.push(variable.name);
        return false;
      },
    });
    expect(maxRelativeError(exempt, plain)).toBeLessThan(1e-6);
    expect(seen).toHaveLength(gradients.length);
    // The default by rank, on a model's variables: the kernel yes; the bias, gamma and beta no.
    const model = tfl.sequential({
      layers: [tfl.layers.dense({ units: 3, inputShape: [4] }), tfl.layers.batchNormalization()],
    });
    expect(trainableVariables(model).map(decaysByDefault)).toEqual([true, false, false, false]);
    model.dispose();
  });

  it('saves and restores its state into a rebuilt model (other variable names): updates continue bit for bit', async () => {
    const build = () =>
      tfl.sequential({
        layers: [
          tfl.layers.dense({ inputShape: [6], units: 5, activation: 'relu' }),
          tfl.layers.dense({ units: 3 }),
        ],
      });
    const xs = tf.tensor2d(seededValues(8 * 6, 41), [8, 6]);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
    const loss = createLoss({ kind: 'softmax-cross-entropy' });
    const train = (model: tfl.LayersModel, adam: FusedAdam, steps: number) => {
      const step = createTrainStep(model, adam, loss);
      for (let i = 0; i < steps; i += 1) step(xs, ys).dispose();
    };

    const original = build();
    const adam = new FusedAdam({ learningRate: 0.05, weightDecay: 0.01 });
    train(original, adam, 3);
    const savedWeights = original.getWeights().map((w) => w.dataSync().slice());
    const saved = adam.getState(trainableVariables(original));
    expect(saved.iterations).toBe(3);
    expect(saved.m.every((m) => m.some((value) => value !== 0))).toBe(true);
    adam.learningRate = 0.02;
    train(original, adam, 3);
    const uninterrupted = original.getWeights().map((w) => w.dataSync() as Float32Array);

    const rebuilt = build();
    const names = (m: tfl.LayersModel) => trainableVariables(m).map((v) => v.name);
    expect(names(rebuilt)).not.toEqual(names(original));
    rebuilt.setWeights(
      savedWeights.map((values, i) => tf.tensor(values, original.weights[i]!.shape as number[])),
    );
    const resumed = new FusedAdam({ learningRate: 0.02, weightDecay: 0.01 });
    resumed.setState(trainableVariables(rebuilt), saved);
    expect(resumed.iterations).toBe(3);
    train(rebuilt, resumed, 3);
    rebuilt.getWeights().forEach((w, i) => {
      expect(w.dataSync()).toEqual(uninterrupted[i]);
    });

    tf.dispose([xs, ys]);
    for (const disposable of [adam, resumed, original, rebuilt]) disposable.dispose();
  });
});

describe('FusedAdam state and lifetime', () => {
  it('dispose frees its moments on the wasm heap; a disposed optimizer refuses to step', async () => {
    await tf.setBackend('wasm');
    const wasm = tf.backend() as WasmBackend;
    const variables = [tf.variable(tf.ones([300])), tf.variable(tf.ones([4, 5]))];
    const grads = Object.fromEntries(variables.map((v) => [v.name, tf.onesLike(v)]));
    const buffers = wasm.numDataIds();
    const tensors = tf.memory().numTensors;
    const adam = new FusedAdam();
    for (let step = 0; step < 2; step += 1) {
      adam.applyGradients(grads);
      // Two moments per variable live on the heap, outside tfjs's tensor count (each update swaps a variable's
      // buffer for a new one; the initial ones stay alive through the tf.ones tensors).
      expect(wasm.numDataIds()).toBe(buffers + variables.length + 2 * variables.length);
      expect(tf.memory().numTensors).toBe(tensors);
    }
    adam.dispose();
    expect(wasm.numDataIds()).toBe(buffers + variables.length);
    adam.dispose();
    expect(() => adam.applyGradients({})).toThrow(BackendError);
    tf.dispose([...variables, ...Object.values(grads)]);
  });

  it('exports zero moments for a variable not yet updated and refuses state that does not fit', async () => {
    await tf.setBackend('cpu');
    const [a, b] = [tf.variable(tf.zeros([3])), tf.variable(tf.zeros([2, 2]))];
    const adam = new FusedAdam();
    const state = adam.getState([a, b]);
    expect(state).toEqual({
      iterations: 0,
      m: [new Float32Array(3), new Float32Array(4)],
      v: [new Float32Array(3), new Float32Array(4)],
    });
    expect(() => adam.setState([b, a], state)).toThrow(/variable 0 .*4 values but its moments have 3/);
    expect(() => adam.setState([a], state)).toThrow(/1 variables but moments for 2/);
    expect(() => adam.setState([a, b], { ...state, iterations: -1 })).toThrow(BackendError);
    tf.dispose([a, b]);
    adam.dispose();
  });

  it('rejects hyper-parameters outside their range', () => {
    expect(() => new FusedAdam({ learningRate: 0 })).toThrow(/learningRate/);
    expect(() => new FusedAdam({ beta1: 1 })).toThrow(/beta1/);
    expect(() => new FusedAdam({ weightDecay: -1 })).toThrow(/weightDecay/);
    const adam = new FusedAdam();
    expect(() => {
      adam.learningRate = Number.NaN;
    }).toThrow(/learningRate/);
    expect(adam.learningRate).toBe(0.001);
  });
});
