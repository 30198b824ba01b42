import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Batch } from '@tfmlops/data';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateModel } from './evaluate.ts';

// x = (a, b) -> logits (a, b, -a - b): a linear layer with fixed weights, so every number is computable by hand.
function fixedModel(finalSoftmax = false): tfl.LayersModel {
  const model = tfl.sequential();
  model.add(tfl.layers.flatten({ inputShape: [1, 1, 2] }));
  const kernel = tf.tensor2d([
    [1, 0, -1],
    [0, 1, -1],
  ]);
  model.add(
    tfl.layers.dense({
      units: 3,
      useBias: false,
      activation: finalSoftmax ? 'softmax' : 'linear',
      weights: [kernel],
    }),
  );
  kernel.dispose();
  return model;
}

const EXAMPLES: Array<{ x: [number, number]; label: number }> = [
  { x: [3, 0], label: 0 }, // right, confident
  { x: [0, 2], label: 1 }, // right
  { x: [4, 0], label: 1 }, // wrong, very confident (predicts 0)
  { x: [0.2, 0], label: 2 }, // wrong, unsure (predicts 0)
  { x: [-2, -2], label: 2 }, // right (logit 4 for class 2)
  { x: [0, 1], label: 0 }, // wrong (predicts 1)
  { x: [1, 1.5], label: 1 }, // right
];

async function* batchesOf(size: number, oneHot = true): AsyncGenerator<Batch> {
  for (let start = 0; start < EXAMPLES.length; start += size) {
    const chunk = EXAMPLES.slice(start, start + size);
    yield {
      xs: tf.tensor4d(
        chunk.flatMap((e) => e.x),
        [chunk.length, 1, 1, 2],
      ),
      ys: tf.tidy(() => {
        const labels = tf.tensor1d(
          chunk.map((e) => e.label),
          'int32',
        );
        return oneHot ? tf.cast(tf.oneHot(labels, 3), 'float32') : labels;
      }),
    };
  }
}

/** The same quantities computed in plain JS, independently of the implementation. */
function expected() {
  return EXAMPLES.map(({ x: [a, b], label }) => {
    const logits = [a, b, -a - b];
    const max = Math.max(...logits);
    const exp = logits.map((l) => Math.exp(l - max));
    const sum = exp.reduce((s, v) => s + v, 0);
    const p = exp.map((v) => v / sum);
    const predicted = p.indexOf(Math.max(...p));
    return { label, predicted, confidence: p[predicted]!, trueP: p[label]!, loss: -Math.log(p[label]!) };
  });
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('evaluateModel', () => {
  it('measures accuracy, loss, confusion, calibration and the most confident mistakes from logits', async () => {
    const model = fixedModel();
    const want = expected();
    const result = await evaluateModel(model, batchesOf(3), { classNames: ['zero', 'one', 'two'], worst: 2 });
    expect(result.examples).toBe(7);
    expect(result.accuracy).toBeCloseTo(want.filter((e) => e.label === e.predicted).length / 7, 12);
    expect(result.loss).toBeCloseTo(want.reduce((s, e) => s + e.loss, 0) / 7, 5);
    const confusion = [0, 1, 2].map(() => [0, 0, 0]);
    for (const e of want) confusion[e.label]![e.predicted]! += 1;
    expect(result.confusionMatrix).toEqual(confusion);
    // The two most confident mistakes, most confident first: example 2 (x=(4,0)) then example 5.
    const mistakes = want
      .map((e, index) => ({ ...e, index }))
      .filter((e) => e.label !== e.predicted)
      .sort((p, q) => q.confidence - p.confidence);
    expect(result.misclassified.map((m) => m.index)).toEqual(mistakes.slice(0, 2).map((m) => m.index));
    expect(result.misclassified[0]).toMatchObject({
      label: 1,
      labelName: 'one',
      predicted: 0,
      predictedName: 'zero',
    });
    expect(result.misclassified[0]!.confidence).toBeCloseTo(mistakes[0]!.confidence, 5);
    expect(result.misclassified[0]!.trueClassProbability).toBeCloseTo(mistakes[0]!.trueP, 5);
    // ECE from the JS reference with the same 15 (lower, upper] bins.
    const bins = Array.from({ length: 15 }, () => ({ n: 0, conf: 0, right: 0 }));
    for (const e of want) {
      const bin = bins[Math.min(14, Math.max(0, Math.ceil(e.confidence * 15) - 1))]!;
      bin.n += 1;
      bin.conf += e.confidence;
      bin.right += e.label === e.predicted ? 1 : 0;
    }
    const ece = bins.reduce((s, b) => (b.n ? s + (b.n / 7) * Math.abs(b.right / b.n - b.conf / b.n) : s), 0);
    expect(result.calibration.ece).toBeCloseTo(ece, 5);
    expect(result.calibration.bins).toBe(15);
    expect(result.calibration.reliability.reduce((s, b) => s + b.count, 0)).toBe(7);
    expect(result.macro.f1).toBeGreaterThan(0);
    expect(result.weighted.recall).toBeCloseTo(result.accuracy, 12);
    model.dispose();
  });

  it('gives the same result for index labels and any batch size', async () => {
    const model = fixedModel();
    const oneHot = await evaluateModel(model, batchesOf(7), { classNames: ['a', 'b', 'c'] });
    const indices = await evaluateModel(model, batchesOf(2, false), { classNames: ['a', 'b', 'c'] });
    expect(indices.confusionMatrix).toEqual(oneHot.confusionMatrix);
    expect(indices.loss).toBeCloseTo(oneHot.loss, 6);
    expect(indices.calibration.ece).toBeCloseTo(oneHot.calibration.ece, 6);
    model.dispose();
  });

  it('keeps the tensor count flat: batches are disposed and nothing leaks across calls', async () => {
    const model = fixedModel();
    await evaluateModel(model, batchesOf(3), { classNames: ['a', 'b', 'c'] });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i += 1) await evaluateModel(model, batchesOf(3), { classNames: ['a', 'b', 'c'] });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('refuses probabilities, a wrong number of outputs and an empty stream with errors that say why', async () => {
    const softmaxModel = fixedModel(true);
    const before = tf.memory().numTensors;
    await expect(
      evaluateModel(softmaxModel, batchesOf(3), { classNames: ['a', 'b', 'c'] }),
    ).rejects.toMatchObject({
      code: 'MODEL_OUTPUT_NOT_LOGITS',
    });
    const model = fixedModel();
    await expect(evaluateModel(model, batchesOf(3), { classNames: ['a', 'b'] })).rejects.toMatchObject({
      code: 'MODEL_OUTPUT_MISMATCH',
      message: expect.stringContaining('expected [batch, 2] logits'),
    });
    // A failed batch is still disposed (the generator's later batches are never created).
    expect(tf.memory().numTensors).toBe(before + model.weights.length);
    await expect(
      evaluateModel(model, (async function* () {})(), { classNames: ['a', 'b', 'c'] }),
    ).rejects.toMatchObject({
      code: 'DATA_EMPTY_SPLIT',
    });
    softmaxModel.dispose();
    model.dispose();
  });
});
