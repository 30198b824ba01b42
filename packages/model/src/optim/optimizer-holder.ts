import type * as tf from '@tensorflow/tfjs-core';
import type { OptimizerState, TrainOptimizer } from './types.ts';

/**
 * The optimizer the train step holds on to, whose implementation can be replaced between steps (fine-tuning's
 * unfreeze restarts the optimizer with fresh state at a new learning rate) without rebuilding the step.
 */
export class OptimizerHolder implements TrainOptimizer {
  constructor(private current: TrainOptimizer) {}

  /** Disposes the current optimizer and continues with `next`. */
  replace(next: TrainOptimizer): void {
    this.current.dispose();
    this.current = next;
  }

  get learningRate(): number {
    return this.current.learningRate;
  }

  set learningRate(value: number) {
    this.current.learningRate = value;
  }

  get iterations(): number {
    return this.current.iterations;
  }

  applyGradients(gradients: tf.NamedTensorMap): void {
    this.current.applyGradients(gradients);
  }

  getState(variables: readonly tf.Variable[]): OptimizerState {
    return this.current.getState(variables);
  }

  setState(variables: readonly tf.Variable[], state: OptimizerState): void {
    this.current.setState(variables, state);
  }

  dispose(): void {
    this.current.dispose();
  }
}
