import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@tfmlops/core';
import { decaysByDefault } from '@tfmlops/runtime';
import type { OptimizerConfig } from '../train-config.ts';
import type { OptimizerState, TrainOptimizer } from './types.ts';

type Slots = Record<string, tf.Tensor>;

/** One update: the new weight and new slots from the weight, its gradient and its slots (all inside a tidy). */
type UpdateRule = (
  weight: tf.Tensor,
  gradient: tf.Tensor,
  slots: Slots,
  step: { learningRate: number; iterations: number; decay: number },
) => { weight: tf.Tensor; slots: Slots };

/**
 * Optimizers written as a per-variable update rule over TF.js ops, with PyTorch's semantics (what the product's users
 * compare against): the slots are tensors kept between steps, the learning rate is a plain field the schedule sets,
 * and the state can be read and restored by variable position for checkpoints. Works on every backend.
 */
export class SlotOptimizer implements TrainOptimizer {
  learningRate: number;
  private steps = 0;
  private readonly slots = new Map<string, Slots>();

  constructor(
    private readonly slotNames: readonly string[],
    private readonly rule: UpdateRule,
    learningRate: number,
    /** Weight decay, applied to the variables `decaysByDefault` picks (kernels, not biases or norm parameters). */
    private readonly weightDecay = 0,
  ) {
    this.learningRate = learningRate;
  }

  get iterations(): number {
    return this.steps;
  }

  applyGradients(gradients: tf.NamedTensorMap): void {
    this.steps += 1;
    for (const [name, gradient] of Object.entries(gradients)) {
      const variable = tf.engine().registeredVariables[name];
      if (!variable || !gradient) continue;
      const decay = this.weightDecay > 0 && decaysByDefault(variable) ? this.weightDecay : 0;
      const step = { learningRate: this.learningRate, iterations: this.steps, decay };
      const previous = this.slotsFor(name, variable);
      const next = tf.tidy(() => {
        const result = this.rule(variable, gradient, previous, step);
        return { weight: result.weight, ...result.slots } as tf.NamedTensorMap;
      });
      variable.assign(next.weight as tf.Tensor);
      (next.weight as tf.Tensor).dispose();
      const slots: Slots = {};
      for (const slot of this.slotNames) slots[slot] = next[slot] as tf.Tensor;
      tf.dispose(Object.values(previous));
      this.slots.set(name, slots);
    }
  }

  getState(variables: readonly tf.Variable[]): OptimizerState {
    const slots: Record<string, Float32Array[]> = {};
    for (const slot of this.slotNames) {
      slots[slot] = variables.map((variable) => {
        const tensor = this.slots.get(variable.name)?.[slot];
        return tensor ? (tensor.dataSync() as Float32Array).slice() : new Float32Array(variable.size);
      });
    }
    return { iterations: this.steps, slots };
  }

  setState(variables: readonly tf.Variable[], state: OptimizerState): void {
    for (const slot of this.slotNames) {
      const arrays = state.slots[slot];
      if (!arrays || arrays.length !== variables.length) {
        throw new ConfigError(
          `optimizer state does not match the model: slot '${slot}' has ${arrays?.length ?? 0} arrays for ${variables.length} variables`,
          { hint: 'resume with the same model and optimizer the run was started with' },
        );
      }
    }
    this.clear();
    variables.forEach((variable, index) => {
      const slots: Slots = {};
      for (const slot of this.slotNames) {
        const values = state.slots[slot]?.[index] as Float32Array;
        if (values.length !== variable.size) {
          throw new ConfigError(
            `optimizer state does not match the model: variable ${index} (${variable.name}) has ${variable.size} values, the state ${values.length}`,
            { hint: 'resume with the same model and optimizer the run was started with' },
          );
        }
        slots[slot] = tf.tensor(values, variable.shape, 'float32');
      }
      this.slots.set(variable.name, slots);
    });
    this.steps = state.iterations;
  }

  dispose(): void {
    this.clear();
  }

  private clear(): void {
    for (const slots of this.slots.values()) tf.dispose(Object.values(slots));
    this.slots.clear();
  }

  private slotsFor(name: string, variable: tf.Variable): Slots {
    let slots = this.slots.get(name);
    if (!slots) {
      slots = {};
      for (const slot of this.slotNames) slots[slot] = tf.zerosLike(variable);
      this.slots.set(name, slots);
    }
    return slots;
  }
}

/** The optimizer a `train.optimizer` section asks for, at the given starting learning rate. */
export function createSlotOptimizer(config: OptimizerConfig, learningRate: number): SlotOptimizer {
  const { weightDecay, momentum, nesterov, beta1, beta2, epsilon, rho } = config;
  // PyTorch's coupled weight decay: an L2 term added to the gradient.
  const withL2 = (gradient: tf.Tensor, weight: tf.Tensor, decay: number) =>
    decay > 0 ? tf.add(gradient, tf.mul(weight, decay)) : gradient;
  switch (config.name) {
    case 'adam':
    case 'adamw':
      return new SlotOptimizer(
        ['m', 'v'],
        (weight, gradient, slots, { learningRate: lr, iterations, decay }) => {
          const decoupled = config.name === 'adamw';
          const g = decoupled ? gradient : withL2(gradient, weight, decay);
          const m = tf.add(tf.mul(slots.m as tf.Tensor, beta1), tf.mul(g, 1 - beta1));
          const v = tf.add(tf.mul(slots.v as tf.Tensor, beta2), tf.mul(tf.square(g), 1 - beta2));
          const mHat = tf.div(m, 1 - beta1 ** iterations);
          const vHat = tf.div(v, 1 - beta2 ** iterations);
          // AdamW decays the weight itself before the Adam step (Loshchilov & Hutter; PyTorch's AdamW).
          const start = decoupled && decay > 0 ? tf.mul(weight, 1 - lr * decay) : weight;
          const next = tf.sub(start, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), epsilon)), lr));
          return { weight: next, slots: { m, v } };
        },
        learningRate,
        weightDecay,
      );
    case 'sgd':
      if (momentum === 0) {
        return new SlotOptimizer(
          [],
          (weight, gradient, _slots, { learningRate: lr, decay }) => ({
            weight: tf.sub(weight, tf.mul(withL2(gradient, weight, decay), lr)),
            slots: {},
          }),
          learningRate,
          weightDecay,
        );
      }
      return new SlotOptimizer(
        ['momentum'],
        (weight, gradient, slots, { learningRate: lr, iterations, decay }) => {
          const g = withL2(gradient, weight, decay);
          // PyTorch starts the buffer at the first gradient, which is what momentum * 0 + g gives.
          const buffer = iterations === 1 ? g : tf.add(tf.mul(slots.momentum as tf.Tensor, momentum), g);
          const direction = nesterov ? tf.add(g, tf.mul(buffer, momentum)) : buffer;
          return { weight: tf.sub(weight, tf.mul(direction, lr)), slots: { momentum: tf.clone(buffer) } };
        },
        learningRate,
        weightDecay,
      );
    case 'rmsprop':
      return new SlotOptimizer(
        momentum > 0 ? ['square', 'momentum'] : ['square'],
        (weight, gradient, slots, { learningRate: lr, decay }): { weight: tf.Tensor; slots: Slots } => {
          const g = withL2(gradient, weight, decay);
          const square = tf.add(tf.mul(slots.square as tf.Tensor, rho), tf.mul(tf.square(g), 1 - rho));
          const scaled = tf.div(g, tf.add(tf.sqrt(square), epsilon));
          if (momentum === 0) return { weight: tf.sub(weight, tf.mul(scaled, lr)), slots: { square } };
          const buffer = tf.add(tf.mul(slots.momentum as tf.Tensor, momentum), scaled);
          return { weight: tf.sub(weight, tf.mul(buffer, lr)), slots: { square, momentum: buffer } };
        },
        learningRate,
        weightDecay,
      );
  }
}
