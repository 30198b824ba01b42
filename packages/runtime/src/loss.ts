import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@tfmlops/core';
import { z } from 'zod';

/** Loss of a batch: labels first, as `tf.losses.*` take them. */
export type LossFunction = (labels: tf.Tensor, predictions: tf.Tensor) => tf.Scalar;

/**
 * A loss as data, so that one definition reaches every place a loss is computed: the single-process train step and
 * each data-parallel worker thread (which is sent the spec, not a function). Extend the union, never add a second
 * way to name a loss.
 */
export const lossSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    /** Mean over the batch of softmax cross-entropy between one-hot labels and logits. */
    kind: z.literal('softmax-cross-entropy'),
    /**
     * Label smoothing as tf.losses.softmaxCrossEntropy (and Keras) define it: the one-hot target becomes
     * y·(1 − s) + s / classes.
     */
    labelSmoothing: z.number().min(0).lt(1).optional(),
  }),
]);
export type LossSpec = z.output<typeof lossSpecSchema>;

/** The loss function a spec names. An invalid spec is a ConfigError (exit 2 from a CLI). */
export function createLoss(spec: LossSpec): LossFunction {
  const parsed = lossSpecSchema.safeParse(spec);
  if (!parsed.success) {
    throw new ConfigError(`invalid loss ${JSON.stringify(spec)}: ${z.prettifyError(parsed.error)}`, {
      hint: "use { kind: 'softmax-cross-entropy', labelSmoothing?: number in [0, 1) }",
    });
  }
  const { labelSmoothing = 0 } = parsed.data;
  return (labels, logits) =>
    tf.losses.softmaxCrossEntropy(labels, logits, undefined, labelSmoothing) as tf.Scalar;
}
