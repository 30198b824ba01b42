import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { LossFunction } from './loss.ts';

/**
 * Anything that applies named gradients, as `tf.variableGrads` returns them: our `FusedAdam`, or a `tf.Optimizer`
 * through {@link optimizerApplier} (tfjs types its parameter as a map of variables though it is given tensors).
 */
export interface GradientApplier {
  applyGradients(gradients: tf.NamedTensorMap): void;
}

/** One optimisation step on a batch; returns the batch loss as a scalar the caller disposes. */
export type TrainStep = (xs: tf.Tensor, ys: tf.Tensor) => tf.Scalar;

/**
 * A training step without `model.fit`'s machinery (callbacks, history, per-batch bookkeeping): forward in training
 * mode, `tf.variableGrads` over the model's trainable weights, the optimizer's update, gradients disposed. Batch
 * norm statistics update during the forward pass as they do under `fit`. Tensor count is flat across calls.
 *
 * Pair it with `FusedAdam` on the wasm backend for a one-pass weight update, and build `lossFn` with `createLoss`
 * from the same `LossSpec` the data-parallel trainer is given.
 */
export function createTrainStep(
  model: tfl.LayersModel,
  optimizer: GradientApplier,
  lossFn: LossFunction,
): TrainStep {
  return (xs, ys) => {
    // Read per call: layers can be frozen or unfrozen between steps.
    const variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(
      () => lossFn(ys, model.apply(xs, { training: true }) as tf.Tensor),
      variables,
    );
    optimizer.applyGradients(grads);
    tf.dispose(grads);
    return value;
  };
}

/** Adapts a tfjs optimizer (`tf.train.adam(...)`, ...) to {@link createTrainStep}. */
export function optimizerApplier(optimizer: tf.Optimizer): GradientApplier {
  return {
    applyGradients: (gradients) =>
      optimizer.applyGradients(gradients as unknown as Parameters<tf.Optimizer['applyGradients']>[0]),
  };
}
