import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { PreparedDataset, SplitName } from '@tfmlops/data';
import type { LossFunction } from '@tfmlops/runtime';

export interface SplitScore {
  /** Mean loss over the split, null when it is empty. */
  loss: number | null;
  /** Top-1 accuracy in [0, 1], null when the split is empty. */
  accuracy: number | null;
  count: number;
}

/**
 * Loss and top-1 accuracy of the model on one split, in inference mode, in split order. Returns undefined when
 * `stopped()` turns true between batches (the caller saves and exits), so a signal never waits for a whole pass.
 */
export async function evaluateSplit(
  model: tfl.LayersModel,
  data: PreparedDataset,
  split: SplitName,
  options: { batchSize: number; loss: LossFunction; stopped?: () => boolean; limit?: number },
): Promise<SplitScore | undefined> {
  let lossSum = 0;
  let correct = 0;
  let count = 0;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  // Batches no larger than what is left of the limit, so no image beyond it is even decoded.
  const batchSize = Math.max(1, Math.min(options.batchSize, limit));
  for await (const batch of data.batches(split, { batchSize, shuffle: false })) {
    if (options.stopped?.()) {
      tf.dispose([batch.xs, batch.ys]);
      return undefined;
    }
    if (count >= limit) {
      tf.dispose([batch.xs, batch.ys]);
      break;
    }
    const size = Math.min(batch.xs.shape[0] as number, limit - count);
    const [loss, hits] = tf.tidy(() => {
      const xs = size < (batch.xs.shape[0] as number) ? tf.slice(batch.xs, 0, size) : batch.xs;
      const ys = size < (batch.ys.shape[0] as number) ? tf.slice(batch.ys, 0, size) : batch.ys;
      const logits = model.predict(xs) as tf.Tensor;
      const hitCount = tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), tf.argMax(ys, -1)), 'int32'));
      return [options.loss(ys, logits), hitCount];
    });
    lossSum += (loss.dataSync()[0] as number) * size;
    correct += hits.dataSync()[0] as number;
    count += size;
    tf.dispose([loss, hits, batch.xs, batch.ys]);
  }
  return count === 0
    ? { loss: null, accuracy: null, count }
    : { loss: lossSum / count, accuracy: correct / count, count };
}
