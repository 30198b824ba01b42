import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStorage } from '@tfmlops/core';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { datasetImages } from './dataset-images.ts';
import { fakeDataset } from './fake-dataset.test-support.ts';
import { averageScores, CalibrationBins, classScores } from './metrics.ts';
import { renderMisclassified, writeEvaluationReport } from './report.ts';
import type { Evaluation } from './types.ts';

const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** A plausible evaluation of 10 CIFAR-like classes, built through the same helpers evaluateModel uses. */
function sampleEvaluation(classNames = CLASSES, misclassified = 6): Evaluation {
  const k = classNames.length;
  const confusion = classNames.map((_, t) =>
    classNames.map((__, p) =>
      t === p ? 80 + ((t * 7) % 20) : (t * 3 + p * 5) % 7 === 0 ? 6 : (t + p) % 5 === 0 ? 1 : 0,
    ),
  );
  const bins = new CalibrationBins(15);
  let i = 0;
  for (const [t, row] of confusion.entries()) {
    for (const [p, n] of row.entries()) {
      for (let j = 0; j < n; j += 1, i += 1)
        bins.add(0.3 + 0.7 * (((i * 37) % 100) / 100) ** 0.3, t === p && j % 17 !== 0);
    }
  }
  const total = confusion.flat().reduce((s, n) => s + n, 0);
  const correct = confusion.reduce((s, row, t) => s + row[t]!, 0);
  const perClass = classScores(confusion, classNames);
  return {
    examples: total,
    classNames,
    accuracy: correct / total,
    loss: 0.42,
    perClass,
    ...averageScores(perClass),
    confusionMatrix: confusion,
    calibration: bins.summary(),
    misclassified: Array.from({ length: misclassified }, (_, m) => ({
      index: m * 3 + 1,
      label: (m * 3 + 1) % k,
      labelName: classNames[(m * 3 + 1) % k]!,
      predicted: (m * 3 + 2) % k,
      predictedName: classNames[(m * 3 + 2) % k]!,
      confidence: 0.99 - m * 0.05,
      trueClassProbability: 0.004 + m * 0.01,
    })),
  };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'evaluation-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('datasetImages', () => {
  it('finds the index-th image of the unshuffled split across shards, with its label', async () => {
    const lookup = datasetImages(fakeDataset(), 'test');
    expect(await lookup(3)).toEqual({ pixels: new Uint8Array(192).fill(30), label: 3 });
    expect(await lookup(10)).toEqual({ pixels: new Uint8Array(192).fill(100), label: 0 });
    expect((await lookup(21)).label).toBe(1);
    await expect(lookup(22)).rejects.toThrow(/outside the test split \(0\.\.21\)/);
  });
});

describe('writeEvaluationReport', () => {
  it('writes evaluation.json and the four pictures through Storage', async () => {
    const evaluation = sampleEvaluation();
    const history = [1, 2, 3].map((epoch) => ({
      epoch,
      loss: 1 / epoch,
      accuracy: 0.6 + epoch / 20,
      val_loss: 1.1 / epoch,
      val_accuracy: 0.58 + epoch / 20,
      lr: 0.001,
      images_per_second: 900,
      seconds: 10,
    }));
    const written = await writeEvaluationReport(evaluation, {
      storage: createStorage({}),
      dir,
      images: datasetImages(fakeDataset(), 'test'),
      imageShape: [8, 8, 3],
      history,
      metadata: { model_uri: 'artifacts/models/exp4/v1' },
    });
    expect((await readdir(dir)).sort()).toEqual([
      'confusion-matrix.png',
      'curves.png',
      'evaluation.json',
      'misclassified.png',
      'reliability.png',
    ]);
    expect(written).toHaveLength(5);
    const json = JSON.parse(await readFile(join(dir, 'evaluation.json'), 'utf8'));
    expect(json).toMatchObject({
      split: 'test',
      model_uri: 'artifacts/models/exp4/v1',
      accuracy: evaluation.accuracy,
    });
    expect(json.calibration.reliability).toHaveLength(15);
    for (const name of ['confusion-matrix.png', 'reliability.png', 'misclassified.png', 'curves.png']) {
      const meta = await sharp(join(dir, name)).metadata();
      expect(meta.format, name).toBe('png');
      expect(meta.width, name).toBeGreaterThan(300);
      expect(meta.height, name).toBeGreaterThan(200);
    }
  });

  it('refuses images that do not line up with the evaluated order', async () => {
    const evaluation = sampleEvaluation();
    const shifted = { ...evaluation, misclassified: [{ ...evaluation.misclassified[0]!, label: 9 }] };
    await expect(
      renderMisclassified(shifted, datasetImages(fakeDataset(), 'test'), [8, 8, 3]),
    ).rejects.toMatchObject({
      code: 'DATA_ORDER_MISMATCH',
    });
  });
});
