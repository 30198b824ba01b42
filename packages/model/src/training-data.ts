import type { Tensor } from '@tensorflow/tfjs-core';

export type TrainingSplit = 'train' | 'val' | 'test';

/** One batch: normalised images [B,H,W,C] float32 and one-hot labels [B,numClasses]. The consumer disposes both. */
export interface Batch {
  xs: Tensor;
  ys: Tensor;
}

/** What training needs from a prepared dataset; the data package's loader provides it. */
export interface TrainingData {
  classNames: string[];
  /** [height, width, channels]. */
  imageShape: [number, number, number];
  /** Dataset version (content hash), recorded with the run. */
  version: string;
  count(split: TrainingSplit): number;
  batches(
    split: TrainingSplit,
    options: { batchSize: number; shuffle: boolean; seed: number },
  ): AsyncIterable<Batch>;
}
