import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { DataParallelTrainer, optimizerApplier } from '@tfmlops/runtime';

/**
 * The only place the bench touches `DataParallelTrainer`'s API (it is about to take a loss spec and a
 * GradientApplier): a step on a batch split between the main thread and `workers` worker threads, with tfjs's Adam.
 * The loss is read back by the trainer every step.
 */
export async function createDataParallelStep(
  model: tfl.LayersModel,
  workers: number,
  learningRate: number,
): Promise<{ step(xs: tf.Tensor, ys: tf.Tensor): Promise<void>; dispose(): Promise<void> }> {
  const trainer = await DataParallelTrainer.create(model, {
    workers,
    loss: { kind: 'softmax-cross-entropy' },
  });
  const optimizer = tf.train.adam(learningRate);
  const applier = optimizerApplier(optimizer);
  return {
    step: async (xs, ys) => {
      await trainer.step(xs, ys, applier);
    },
    dispose: async () => {
      await trainer.dispose();
      optimizer.dispose();
    },
  };
}
