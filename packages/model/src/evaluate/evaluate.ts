import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { DataError, ModelLoadError } from '@tfmlops/core';
import type { Batch } from '@tfmlops/data';
import { averageScores, CalibrationBins, classScores } from './metrics.ts';
import type { Evaluation, Misclassified } from './types.ts';

export interface EvaluateOptions {
  /** Class names in output order; the model must have exactly this many outputs. */
  classNames: string[];
  /** Equal-width confidence bins for ECE and the reliability diagram. Default 15. */
  calibrationBins?: number;
  /** How many of the most confident mistakes to keep for misclassified.png. Default 25. */
  worst?: number;
}

export const DEFAULT_CALIBRATION_BINS = 15;
export const DEFAULT_WORST = 25;

/**
 * Evaluates a classifier whose outputs are logits on a stream of batches (`ys` one-hot [B,K] or class indices [B]),
 * in one pass: accuracy, mean cross-entropy, confusion matrix, per-class precision/recall/F1 with macro and
 * weighted means, calibration (ECE over equal-width confidence bins) and the most confident mistakes. Batches are
 * disposed here as they are consumed; only a few numbers per example leave the backend.
 */
export async function evaluateModel(
  model: tfl.LayersModel,
  batches: AsyncIterable<Batch>,
  options: EvaluateOptions,
): Promise<Evaluation> {
  const { classNames } = options;
  const k = classNames.length;
  const calibration = new CalibrationBins(options.calibrationBins ?? DEFAULT_CALIBRATION_BINS);
  const keep = options.worst ?? DEFAULT_WORST;
  const confusion = classNames.map(() => new Array<number>(k).fill(0));
  const worst: Misclassified[] = [];
  let examples = 0;
  let correct = 0;
  let lossSum = 0;
  let checkedOutputs = false;

  for await (const batch of batches) {
    let outputs: tf.Tensor[];
    try {
      outputs = tf.tidy(() => {
        const logits = model.predict(batch.xs);
        if (Array.isArray(logits) || logits.rank !== 2 || logits.shape[1] !== k) {
          const shape = Array.isArray(logits)
            ? `${logits.length} outputs`
            : `shape [${logits.shape.join(', ')}]`;
          throw new ModelLoadError(
            'MODEL_OUTPUT_MISMATCH',
            `the model outputs ${shape}, expected [batch, ${k}] logits (one per class: ${classNames.join(', ')})`,
            {
              hint: 'evaluate a model trained on this dataset, or pass the class names it was trained with',
            },
          );
        }
        const labels = batch.ys.rank === 1 ? tf.cast(batch.ys, 'int32') : tf.argMax(batch.ys, -1);
        const oneHot = tf.oneHot(labels, k);
        const probabilities = tf.softmax(logits);
        const losses = tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), -1));
        const out = [
          tf.argMax(probabilities, -1),
          labels,
          tf.max(probabilities, -1),
          tf.sum(tf.mul(probabilities, oneHot), -1),
          losses,
        ];
        if (!checkedOutputs) out.push(looksLikeProbabilities(logits));
        return out;
      });
    } finally {
      tf.dispose([batch.xs, batch.ys]);
    }
    const [predicted, labels, confidence, trueProbability, losses, probabilityCheck] = (await Promise.all(
      outputs.map((tensor) => tensor.data()),
    )) as [Int32Array, Int32Array, Float32Array, Float32Array, Float32Array, Uint8Array | undefined];
    tf.dispose(outputs);
    if (probabilityCheck) {
      checkedOutputs = true;
      if (probabilityCheck[0] === 1) {
        throw new ModelLoadError(
          'MODEL_OUTPUT_NOT_LOGITS',
          'the model outputs look like probabilities (every row in [0, 1], summing to 1); evaluation expects logits',
          { hint: 'remove the final softmax activation: the loss and evaluation apply softmax themselves' },
        );
      }
    }
    for (let i = 0; i < predicted.length; i += 1) {
      const label = labels[i]!;
      const guess = predicted[i]!;
      if (label < 0 || label >= k) {
        throw new DataError(
          'DATA_BAD_LABEL',
          `example ${examples + i} has label ${label}, outside 0..${k - 1}`,
        );
      }
      confusion[label]![guess]! += 1;
      const hit = label === guess;
      if (hit) correct += 1;
      lossSum += losses[i]!;
      calibration.add(confidence[i]!, hit);
      if (!hit) {
        keepWorst(worst, keep, {
          index: examples + i,
          label,
          labelName: classNames[label]!,
          predicted: guess,
          predictedName: classNames[guess]!,
          confidence: confidence[i]!,
          trueClassProbability: trueProbability[i]!,
        });
      }
    }
    examples += predicted.length;
  }
  if (examples === 0) {
    throw new DataError('DATA_EMPTY_SPLIT', 'there are no examples to evaluate', {
      hint: 'check that the split is not empty (data.split fractions) and the batches come from the right dataset',
    });
  }
  const perClass = classScores(confusion, classNames);
  return {
    examples,
    classNames: [...classNames],
    accuracy: correct / examples,
    loss: lossSum / examples,
    perClass,
    ...averageScores(perClass),
    confusionMatrix: confusion,
    calibration: calibration.summary(),
    misclassified: worst,
  };
}

/** 1 when every output is in [0, 1] and every row sums to 1: a final softmax, not logits. */
function looksLikeProbabilities(outputs: tf.Tensor): tf.Tensor {
  const inRange = tf.logicalAnd(tf.greaterEqual(tf.min(outputs), 0), tf.lessEqual(tf.max(outputs), 1));
  const sumsToOne = tf.lessEqual(tf.max(tf.abs(tf.sub(tf.sum(outputs, -1), 1))), 1e-4);
  return tf.cast(tf.reshape(tf.logicalAnd(inRange, sumsToOne), [1]), 'bool');
}

/** Keeps `worst` sorted by confidence (highest first, earlier index on ties) and at most `keep` long. */
function keepWorst(worst: Misclassified[], keep: number, candidate: Misclassified): void {
  if (keep <= 0) return;
  if (worst.length === keep && candidate.confidence <= worst[worst.length - 1]!.confidence) return;
  let at = worst.length;
  while (at > 0 && worst[at - 1]!.confidence < candidate.confidence) at -= 1;
  worst.splice(at, 0, candidate);
  if (worst.length > keep) worst.pop();
}
