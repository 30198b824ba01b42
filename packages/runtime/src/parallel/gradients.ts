import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/** Variables a layers model trains, in `model.trainableWeights` order. */
export function trainableVariables(model: tfl.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((weight) => (weight as unknown as { val: tf.Variable }).val);
}

/**
 * Mean softmax cross-entropy of a batch and its gradients with respect to the trainable variables. The caller owns
 * the returned tensors.
 */
export function lossAndGradients(
  model: tfl.LayersModel,
  xs: tf.Tensor,
  ys: tf.Tensor,
): { loss: tf.Scalar; grads: tf.Tensor[] } {
  const variables = trainableVariables(model);
  const { value, grads } = tf.variableGrads(
    () => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar,
    variables,
  );
  return { loss: value, grads: variables.map((v) => grads[v.name]!) };
}
