import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { optimizerApplier } from '@tfmlops/runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import { type OptimizerConfig, optimizerConfigSchema } from '../train-config.ts';
import { createSlotOptimizer } from './slot-optimizer.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const START = [0.5, -1.2, 2.0, 0.03];
const GRADIENTS = [
  [0.1, -0.4, 0.9, 0.0],
  [-0.3, 0.2, 0.5, 0.05],
  [0.7, 0.1, -0.2, -0.6],
  [0.2, -0.1, 0.3, 0.4],
];

/** PyTorch's update rules, written out on plain numbers (torch.optim docs, "Algorithm" sections). */
function reference(config: OptimizerConfig, lr: number): number[] {
  const { weightDecay: wd, momentum: mu, nesterov, beta1, beta2, epsilon: eps, rho } = config;
  const w = [...START];
  const m = w.map(() => 0);
  const v = w.map(() => 0);
  const b = w.map(() => 0);
  GRADIENTS.forEach((grads, t) => {
    w.forEach((_, i) => {
      let g = grads[i] as number;
      const wi = w[i] as number;
      if (config.name === 'adamw') {
        w[i] = wi * (1 - lr * wd);
      } else {
        g += wd * wi;
      }
      if (config.name === 'adam' || config.name === 'adamw') {
        m[i] = beta1 * (m[i] as number) + (1 - beta1) * g;
        v[i] = beta2 * (v[i] as number) + (1 - beta2) * g * g;
        const mHat = (m[i] as number) / (1 - beta1 ** (t + 1));
        const vHat = (v[i] as number) / (1 - beta2 ** (t + 1));
        w[i] = (w[i] as number) - (lr * mHat) / (Math.sqrt(vHat) + eps);
      } else if (config.name === 'sgd') {
        let d = g;
        if (mu > 0) {
          b[i] = t === 0 ? g : mu * (b[i] as number) + g;
          d = nesterov ? g + mu * (b[i] as number) : (b[i] as number);
        }
        w[i] = wi - lr * d;
      } else {
        v[i] = rho * (v[i] as number) + (1 - rho) * g * g;
        const scaled = g / (Math.sqrt(v[i] as number) + eps);
        if (mu > 0) {
          b[i] = mu * (b[i] as number) + scaled;
          w[i] = wi - lr * (b[i] as number);
        } else {
          w[i] = wi - lr * scaled;
        }
      }
    });
  });
  return w;
}

/** A 2x2 kernel: weight decay applies to kernels (rank >= 2), not to biases. */
const kernel = (values: number[] = START) => tf.variable(tf.tensor2d(values, [2, 2]));

function run(config: OptimizerConfig, lr: number, steps = GRADIENTS.length, variable = kernel()) {
  const optimizer = createSlotOptimizer(config, lr);
  for (const grads of GRADIENTS.slice(0, steps)) {
    const gradient = tf.tensor(grads, variable.shape);
    optimizer.applyGradients({ [variable.name]: gradient });
    gradient.dispose();
  }
  return { optimizer, variable };
}

const CASES: Array<[string, object]> = [
  ['adam', { name: 'adam' }],
  ['adam + L2', { name: 'adam', weightDecay: 0.1 }],
  ['adamw', { name: 'adamw', weightDecay: 0.1 }],
  ['sgd', { name: 'sgd' }],
  ['sgd + momentum + L2', { name: 'sgd', momentum: 0.9, weightDecay: 0.01 }],
  ['sgd + nesterov', { name: 'sgd', momentum: 0.9, nesterov: true }],
  ['rmsprop', { name: 'rmsprop' }],
  ['rmsprop + momentum', { name: 'rmsprop', momentum: 0.5 }],
];

describe('slot optimizers', () => {
  it.each(CASES)('%s follows the PyTorch update rule over 4 steps', (_, input) => {
    const config = optimizerConfigSchema.parse(input);
    const { optimizer, variable } = run(config, 0.05);
    const expected = reference(config, 0.05);
    Array.from(variable.dataSync()).forEach((value, i) => {
      expect(value).toBeCloseTo(expected[i] as number, 5);
    });
    optimizer.dispose();
    variable.dispose();
  });

  it('adam is the same update as tf.train.adam', () => {
    const config = optimizerConfigSchema.parse({ name: 'adam' });
    const { optimizer, variable } = run(config, 0.01);
    const theirs = kernel();
    const tfAdam = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
    for (const grads of GRADIENTS) {
      const gradient = tf.tensor2d(grads, [2, 2]);
      optimizerApplier(tfAdam).applyGradients({ [theirs.name]: gradient });
      gradient.dispose();
    }
    Array.from(variable.dataSync()).forEach((value, i) => {
      expect(value).toBeCloseTo(theirs.dataSync()[i] as number, 6);
    });
    tf.dispose([variable, theirs]);
    optimizer.dispose();
    tfAdam.dispose();
  });

  it.each(CASES)(
    '%s: state saved after 2 steps and restored on new variables continues identically',
    (_, input) => {
      const config = optimizerConfigSchema.parse(input);
      const whole = run(config, 0.05);
      const half = run(config, 0.05, 2);
      const state = half.optimizer.getState([half.variable]);
      const fresh = kernel(Array.from(half.variable.dataSync()));
      const restored = createSlotOptimizer(config, 0.05);
      restored.setState([fresh], state);
      expect(restored.iterations).toBe(2);
      for (const grads of GRADIENTS.slice(2)) {
        const gradient = tf.tensor2d(grads, [2, 2]);
        restored.applyGradients({ [fresh.name]: gradient });
        gradient.dispose();
      }
      expect(Array.from(fresh.dataSync())).toEqual(Array.from(whole.variable.dataSync()));
      for (const o of [whole.optimizer, half.optimizer, restored]) o.dispose();
      tf.dispose([whole.variable, half.variable, fresh]);
    },
  );

  it('uses the learning rate set before each step, keeps the tensor count flat and frees its slots on dispose', () => {
    const before = tf.memory().numTensors;
    const config = optimizerConfigSchema.parse({ name: 'sgd' });
    const initial = tf.tensor1d([1]);
    const variable = tf.variable(initial);
    initial.dispose();
    const optimizer = createSlotOptimizer(config, 1);
    const gradient = tf.tensor1d([1]);
    optimizer.learningRate = 0.5;
    optimizer.applyGradients({ [variable.name]: gradient });
    optimizer.learningRate = 0.25;
    optimizer.applyGradients({ [variable.name]: gradient });
    expect(variable.dataSync()[0]).toBeCloseTo(0.25, 7);
    const adam = createSlotOptimizer(optimizerConfigSchema.parse({}), 0.1);
    adam.applyGradients({ [variable.name]: gradient });
    const afterOne = tf.memory().numTensors;
    for (let i = 0; i < 3; i += 1) adam.applyGradients({ [variable.name]: gradient });
    expect(tf.memory().numTensors).toBe(afterOne);
    adam.dispose();
    optimizer.dispose();
    tf.dispose([variable, gradient]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('decays kernels but not biases or norm parameters (rank 0 and 1), as the runtime FusedAdam does', () => {
    const config = optimizerConfigSchema.parse({ name: 'sgd', weightDecay: 0.5 });
    const bias = tf.variable(tf.tensor1d([1, 1]));
    const weights = kernel([1, 1, 1, 1]);
    const optimizer = createSlotOptimizer(config, 0.1);
    const zeroBias = tf.zeros([2]);
    const zeroKernel = tf.zeros([2, 2]);
    optimizer.applyGradients({ [bias.name]: zeroBias, [weights.name]: zeroKernel });
    expect(Array.from(bias.dataSync())).toEqual([1, 1]);
    Array.from(weights.dataSync()).forEach((value) => {
      expect(value).toBeCloseTo(0.95, 6);
    });
    optimizer.dispose();
    tf.dispose([bias, weights, zeroBias, zeroKernel]);
  });

  it('the schema refuses momentum for adam and nesterov without momentum', () => {
    expect(optimizerConfigSchema.safeParse({ name: 'adam', momentum: 0.9 }).success).toBe(false);
    expect(optimizerConfigSchema.safeParse({ name: 'sgd', nesterov: true }).success).toBe(false);
    expect(optimizerConfigSchema.safeParse({ name: 'sgd', momentum: 0.9, nesterov: true }).success).toBe(
      true,
    );
  });
});
