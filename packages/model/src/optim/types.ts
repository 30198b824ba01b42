import type * as tf from '@tensorflow/tfjs-core';
import type { GradientApplier } from '@tfmlops/runtime';

/**
 * An optimizer's state, keyed by position rather than by variable name: TF.js names variables with a per-process
 * counter (`conv2d_Conv2D3/kernel`), so a model rebuilt on resume has new names but the same order.
 */
export interface OptimizerState {
  /** Updates applied so far (Adam's bias correction depends on it). */
  iterations: number;
  /** Per slot (`m`, `v`, `momentum`, ...): one array per variable, in the order of the variables given. */
  slots: Record<string, Float32Array[]>;
}

/**
 * What the training loop needs from an optimizer: gradients applied by variable name (as `tf.variableGrads` and the
 * data-parallel trainer give them), a learning rate the schedule sets before every step, state for checkpoints, and
 * an explicit release of its buffers.
 */
export interface TrainOptimizer extends GradientApplier {
  learningRate: number;
  readonly iterations: number;
  getState(variables: readonly tf.Variable[]): OptimizerState;
  setState(variables: readonly tf.Variable[], state: OptimizerState): void;
  dispose(): void;
}
