import type * as tfl from '@tensorflow/tfjs-layers';
import type { Batch, BatchOptions, SplitName } from '@tfmlops/data';
import { datasetImages, type ShardedImages } from './dataset-images.ts';
import { type EvaluateOptions, evaluateModel } from './evaluate.ts';
import { type EvaluationReportOptions, writeEvaluationReport } from './report.ts';
import type { Evaluation } from './types.ts';

/** What evaluation needs from a prepared dataset; `PreparedDataset` from @tfmlops/data has it. */
export interface EvaluationDataset extends ShardedImages {
  readonly classNames: string[];
  batches(split: SplitName, options: BatchOptions): AsyncIterable<Batch>;
}

export interface EvaluateDatasetOptions extends Omit<EvaluateOptions, 'classNames'> {
  /** Default `test`. */
  split?: SplitName;
  /** Default 256. */
  batchSize?: number;
  /** Also write the report files (evaluation.json and the PNGs) with these options. */
  report?: Omit<EvaluationReportOptions, 'split' | 'images' | 'imageShape'>;
}

/**
 * Evaluates a model on one split of a prepared dataset, in the dataset's own order (unshuffled, so every
 * misclassified example's index finds its image), and optionally writes the report next to it. What the training
 * loop calls after its last epoch and `pnpm evaluate` calls for a bundle.
 */
export async function evaluateDataset(
  model: tfl.LayersModel,
  dataset: EvaluationDataset,
  options: EvaluateDatasetOptions = {},
): Promise<Evaluation> {
  const split = options.split ?? 'test';
  const evaluation = await evaluateModel(
    model,
    dataset.batches(split, { batchSize: options.batchSize ?? 256, shuffle: false }),
    {
      classNames: dataset.classNames,
      ...(options.calibrationBins !== undefined ? { calibrationBins: options.calibrationBins } : {}),
      ...(options.worst !== undefined ? { worst: options.worst } : {}),
    },
  );
  if (options.report) {
    await writeEvaluationReport(evaluation, {
      ...options.report,
      split,
      images: datasetImages(dataset, split),
      imageShape: dataset.imageShape,
    });
  }
  return evaluation;
}

/**
 * The headline numbers of an evaluation under flat keys, for summary.json and the W&B summary:
 * `<split>_accuracy`, `<split>_loss`, `<split>_macro_f1`, `<split>_ece` (fractions in [0, 1], loss in nats).
 */
export function evaluationSummary(evaluation: Evaluation, split = 'test'): Record<string, number> {
  return {
    [`${split}_accuracy`]: evaluation.accuracy,
    [`${split}_loss`]: evaluation.loss,
    [`${split}_macro_f1`]: evaluation.macro.f1,
    [`${split}_ece`]: evaluation.calibration.ece,
  };
}
