import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { createStorage } from '@tfmlops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateDataset, evaluationSummary } from './evaluate-dataset.ts';
import { fakeDataset } from './fake-dataset.test-support.ts';

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'evaluate-dataset-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('evaluateDataset', () => {
  it('evaluates a split in dataset order and writes the report, with each mistake shown as its own image', async () => {
    const model = tfl.sequential({
      layers: [tfl.layers.flatten({ inputShape: [8, 8, 3] }), tfl.layers.dense({ units: 10 })],
    });
    const dataset = fakeDataset();
    const before = tf.memory().numTensors;
    const evaluation = await evaluateDataset(model, dataset, {
      batchSize: 5,
      worst: 4,
      report: { storage: createStorage({}), dir },
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(evaluation.examples).toBe(22);
    // A random 10-class model gets most of them wrong: there are mistakes to draw, and their images matched labels
    // (writeEvaluationReport checks each image's label against the evaluation's, so a shuffled order would throw).
    expect(evaluation.misclassified.length).toBe(4);
    // No history given: no curves.png.
    expect((await readdir(dir)).sort()).toEqual([
      'confusion-matrix.png',
      'evaluation.json',
      'misclassified.png',
      'reliability.png',
    ]);
    expect(evaluationSummary(evaluation)).toEqual({
      test_accuracy: evaluation.accuracy,
      test_loss: evaluation.loss,
      test_macro_f1: evaluation.macro.f1,
      test_ece: evaluation.calibration.ece,
    });
    model.dispose();
  });
});
