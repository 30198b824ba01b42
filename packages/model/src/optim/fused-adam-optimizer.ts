import type * as tf from '@tensorflow/tfjs-core';
import type { FusedAdam } from '@tfmlops/runtime';
import type { OptimizerState, TrainOptimizer } from './types.ts';

/**
 * The runtime's FusedAdam (one SIMD pass per weight on wasm, decoupled weight decay for AdamW) as a TrainOptimizer:
 * its state is the same `m` and `v` slots, by variable position, as the op-by-op Adam's, so a checkpoint restores
 * into either.
 */
export class FusedAdamOptimizer implements TrainOptimizer {
  constructor(private readonly adam: FusedAdam) {}

  get learningRate(): number {
    return this.adam.learningRate;
  }

  set learningRate(value: number) {
    this.adam.learningRate = value;
  }

  get iterations(): number {
    return this.adam.iterations;
  }

  applyGradients(gradients: tf.NamedTensorMap): void {
    this.adam.applyGradients(gradients);
  }

  getState(variables: readonly tf.Variable[]): OptimizerState {
    const { iterations, m, v } = this.adam.getState(variables);
    return { iterations, slots: { m, v } };
  }

  setState(variables: readonly tf.Variable[], state: OptimizerState): void {
    this.adam.setState(variables, {
      iterations: state.iterations,
      m: state.slots.m ?? [],
      v: state.slots.v ?? [],
    });
  }

  dispose(): void {
    this.adam.dispose();
  }
}
