import * as tf from '@tensorflow/tfjs-core';

/**
 * A loss as data, so one definition reaches every place a loss is computed (the one-process step, validation, and
 * each data-parallel worker, which is sent the spec rather than a function).
 *
 * Seam: @tfmlops/runtime is gaining `createLoss(LossSpec)` with this shape, shared with its data-parallel trainer;
 * when it lands this file goes and the imports point there.
 */
export interface LossSpec {
  kind: 'softmax-cross-entropy';
  labelSmoothing?: number;
}

export type LossFunction = (labels: tf.Tensor, logits: tf.Tensor) => tf.Scalar;

/** Mean softmax cross-entropy over the batch, with label smoothing as tf.losses (and Keras) define it. */
export function createLoss(spec: LossSpec): LossFunction {
  const smoothing = spec.labelSmoothing ?? 0;
  return (labels, logits) => tf.losses.softmaxCrossEntropy(labels, logits, undefined, smoothing) as tf.Scalar;
}
