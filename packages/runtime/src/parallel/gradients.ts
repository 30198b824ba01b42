import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { LossFunction } from '../loss.ts';

/** Variables a layers model trains, in `model.trainableWeights` order. */
export function trainableVariables(model: tfl.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((weight) => (weight as unknown as { val: tf.Variable }).val);
}

/**
 * The batch's loss (forward pass in training mode) and its gradients with respect to the trainable variables, in
 * their order. The caller owns the returned tensors.
 */
export function lossAndGradients(
  model: tfl.LayersModel,
  xs: tf.Tensor,
  ys: tf.Tensor,
  loss: LossFunction,
): { loss: tf.Scalar; grads: tf.Tensor[] } {
  const variables = trainableVariables(model);
  const { value, grads } = tf.variableGrads(
    () => loss(ys, model.apply(xs, { training: true }) as tf.Tensor),
    variables,
  );
  return { loss: value, grads: variables.map((v) => grads[v.name]!) };
}
