import * as tf from '@tensorflow/tfjs-core';
import { createLogger } from '@tfmlops/core';
import { realMachineProbes, runtimeConfigSchema, selectBackend } from '@tfmlops/runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import { optimizerConfigSchema } from '../train-config.ts';
import { createOptimizer } from './create-optimizer.ts';
import { FusedAdamOptimizer } from './fused-adam-optimizer.ts';
import { SlotOptimizer } from './slot-optimizer.ts';

beforeAll(async () => {
  await selectBackend(runtimeConfigSchema.parse({ backend: 'wasm' }), {
    probes: realMachineProbes({}),
    logger: createLogger({ level: 'silent' }),
  });
});

const GRADIENTS = [
  [0.1, -0.4, 0.9, 0.0, 0.3, 0.2],
  [-0.3, 0.2, 0.5, 0.05, -0.2, 0.1],
  [0.7, 0.1, -0.2, -0.6, 0.4, -0.3],
  [0.2, -0.1, 0.3, 0.4, -0.5, 0.6],
];

/** A 2x3 kernel, so weight decay applies (it skips biases and norm parameters). */
function variable(): tf.Variable {
  const initial = tf.tensor2d([0.5, -1.2, 2.0, 0.03, 1.1, -0.7], [2, 3]);
  const v = tf.variable(initial);
  initial.dispose();
  return v;
}

function step(optimizer: { applyGradients(g: tf.NamedTensorMap): void }, v: tf.Variable, grads: number[]) {
  const gradient = tf.tensor2d(grads, [2, 3]);
  optimizer.applyGradients({ [v.name]: gradient });
  gradient.dispose();
}

describe('createOptimizer on wasm', () => {
  it('runs Adam without L2 and AdamW as the runtime FusedAdam, the rest op by op', () => {
    const pick = (input: object) => createOptimizer(optimizerConfigSchema.parse(input), 0.01, 'wasm');
    const cases: Array<[object, unknown]> = [
      [{ name: 'adam' }, FusedAdamOptimizer],
      [{ name: 'adamw', weightDecay: 0.05 }, FusedAdamOptimizer],
      [{ name: 'adam', weightDecay: 0.05 }, SlotOptimizer],
      [{ name: 'sgd', momentum: 0.9 }, SlotOptimizer],
    ];
    for (const [input, kind] of cases) {
      const optimizer = pick(input);
      expect(optimizer).toBeInstanceOf(kind as new (...args: never[]) => unknown);
      optimizer.dispose();
    }
    const elsewhere = createOptimizer(optimizerConfigSchema.parse({ name: 'adam' }), 0.01, 'cpu');
    expect(elsewhere).toBeInstanceOf(SlotOptimizer);
    elsewhere.dispose();
  });

  it.each([
    ['adam', { name: 'adam' }],
    ['adamw', { name: 'adamw', weightDecay: 0.1 }],
  ])('%s: the fused and op-by-op updates agree, and state moves between them by position', (_, input) => {
    const config = optimizerConfigSchema.parse(input);
    const fused = createOptimizer(config, 0.05, 'wasm');
    // The same math op by op (what every other backend runs), on this wasm backend.
    const reference = createOptimizer(config, 0.05, 'cpu');
    const a = variable();
    const b = variable();
    for (const grads of GRADIENTS.slice(0, 2)) {
      step(fused, a, grads);
      step(reference, b, grads);
    }
    const values = (v: tf.Variable) => Array.from(v.dataSync());
    values(a).forEach((x, i) => {
      expect(x).toBeCloseTo(values(b)[i] as number, 5);
    });
    // Fused state into the op-by-op optimizer (a checkpoint written on wasm, resumed elsewhere) and back.
    const handedOver = createOptimizer(config, 0.05, 'cpu');
    handedOver.setState([a], fused.getState([a]));
    const back = createOptimizer(config, 0.05, 'wasm');
    back.setState([b], reference.getState([b]));
    expect(handedOver.iterations).toBe(2);
    expect(back.iterations).toBe(2);
    for (const grads of GRADIENTS.slice(2)) {
      step(handedOver, a, grads);
      step(back, b, grads);
    }
    values(a).forEach((x, i) => {
      expect(x).toBeCloseTo(values(b)[i] as number, 5);
    });
    for (const o of [fused, reference, handedOver, back]) o.dispose();
    tf.dispose([a, b]);
  });
});
