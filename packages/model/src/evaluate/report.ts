import { DataError, joinUri, type Logger, type Storage } from '@tfmlops/core';
import { type CaptionLine, renderChartPng, renderImageGrid } from '@tfmlops/data';
import type { EpochRow } from '../tracking/types.ts';
import { confusionMatrixSpec, curvesSpec, reliabilitySpec } from './charts.ts';
import type { ImageLookup } from './dataset-images.ts';
import type { Evaluation } from './types.ts';

/** File names of the evaluation report inside its directory. */
export const EVALUATION_FILES = {
  json: 'evaluation.json',
  confusionMatrix: 'confusion-matrix.png',
  reliability: 'reliability.png',
  misclassified: 'misclassified.png',
  curves: 'curves.png',
} as const;

export interface EvaluationReportOptions {
  storage: Storage;
  /** Directory (local path or gs:// prefix) that receives the files, e.g. the run directory. */
  dir: string;
  /** Name of the evaluated split, for titles and evaluation.json. Default `test`. */
  split?: string;
  /** Raw images by example index (see `datasetImages`); without it misclassified.png is not drawn. */
  images?: ImageLookup;
  /** [height, width, channels] of the raw images; needed with `images`. */
  imageShape?: readonly [number, number, number];
  /** The run's metrics.jsonl rows; with at least one, curves.png is drawn. */
  history?: readonly EpochRow[];
  /** Extra JSON-safe fields for evaluation.json (e.g. `model_uri`, `dataset_version`). */
  metadata?: Record<string, unknown>;
  logger?: Logger;
}

/**
 * Writes an evaluation as files for machines and people: evaluation.json, confusion-matrix.png, reliability.png,
 * misclassified.png (with `images`) and curves.png (with `history`). Returns the URIs written.
 */
export async function writeEvaluationReport(
  evaluation: Evaluation,
  options: EvaluationReportOptions,
): Promise<string[]> {
  const { storage, dir } = options;
  const split = options.split ?? 'test';
  const written: string[] = [];
  const put = async (name: string, data: Buffer | string, contentType: string) => {
    const uri = joinUri(dir, name);
    await storage.write(uri, data, { contentType });
    written.push(uri);
  };
  await put(
    EVALUATION_FILES.json,
    `${JSON.stringify({ split, ...options.metadata, ...evaluation }, null, 2)}\n`,
    'application/json',
  );
  await put(
    EVALUATION_FILES.confusionMatrix,
    await renderChartPng(confusionMatrixSpec(evaluation, split)),
    'image/png',
  );
  await put(
    EVALUATION_FILES.reliability,
    await renderChartPng(reliabilitySpec(evaluation, split)),
    'image/png',
  );
  if (options.images) {
    if (!options.imageShape) throw new RangeError('writeEvaluationReport: `images` needs `imageShape`');
    await put(
      EVALUATION_FILES.misclassified,
      await renderMisclassified(evaluation, options.images, options.imageShape, split),
      'image/png',
    );
  } else {
    options.logger?.debug('no image lookup given: misclassified.png not drawn');
  }
  if (options.history && options.history.length > 0) {
    written.push(await writeCurves(options.history, { storage, dir }));
  }
  options.logger?.info({ dir, files: written.length }, 'evaluation report written');
  return written;
}

/** Writes curves.png (loss and accuracy per epoch) from metrics.jsonl rows; e.g. after every epoch. */
export async function writeCurves(
  history: readonly EpochRow[],
  options: { storage: Storage; dir: string },
): Promise<string> {
  const uri = joinUri(options.dir, EVALUATION_FILES.curves);
  await options.storage.write(uri, await renderChartPng(curvesSpec(history)), { contentType: 'image/png' });
  return uri;
}

/**
 * The most confident mistakes as a grid of their raw images, each captioned with the true class, the predicted
 * class and its probability. Checks each image's label against the evaluation's, so images taken from a different
 * order than the evaluated stream (a shuffled split) fail loudly instead of mislabelling pictures.
 */
export async function renderMisclassified(
  evaluation: Evaluation,
  images: ImageLookup,
  imageShape: readonly [number, number, number],
  split = 'test',
): Promise<Buffer> {
  const tiles = [];
  for (const example of evaluation.misclassified) {
    const image = await images(example.index);
    if (image.label !== undefined && image.label !== example.label) {
      throw new DataError(
        'DATA_ORDER_MISMATCH',
        `example ${example.index} has label ${image.label} in the dataset but ${example.label} in the evaluation`,
        { hint: 'evaluate the split unshuffled (shuffle: false) so positions match the dataset' },
      );
    }
    const caption: CaptionLine[] = [
      { text: `true: ${example.labelName}`, bold: true, color: '#1a7f37' },
      { text: `predicted: ${example.predictedName}`, color: '#c0392b' },
      {
        text: `${(example.confidence * 100).toFixed(1)}% (true ${(example.trueClassProbability * 100).toFixed(1)}%)`,
      },
    ];
    tiles.push({ pixels: image.pixels, caption });
  }
  const wrong = Math.round((1 - evaluation.accuracy) * evaluation.examples);
  return renderImageGrid({
    title:
      tiles.length === 0
        ? `No misclassified examples in the ${split} split`
        : `The ${tiles.length} most confident mistakes, ${split} split (${wrong.toLocaleString('en-US')} wrong of ${evaluation.examples.toLocaleString('en-US')})`,
    subtitle: 'each: true class, predicted class, probability of the prediction (and of the true class)',
    tiles,
    imageShape,
  });
}
