import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  predictValues,
  saveAndReload,
  tinyBatch,
  trainSteps,
  useWasm,
  weightValues,
} from './architectures.test-support.ts';
import { ARCHITECTURES, buildModel } from './factories.ts';
import { MODEL_LAYER_NAMES } from './layer-names.ts';
import { modelConfigSchema } from './model-config.ts';
import type { InputShape } from './types.ts';

beforeAll(useWasm);

// Tiny instances of each architecture: a few steps each keep the whole file to seconds.
const CASES: Array<{ name: string; inputShape: InputShape; build: (seed: number) => tfl.LayersModel }> = [
  {
    name: 'cnn',
    inputShape: [12, 12, 1],
    build: (seed) => ARCHITECTURES.cnn({ inputShape: [12, 12, 1], numClasses: 3, seed, dropout: 0.2 }),
  },
  {
    name: 'resnet',
    inputShape: [8, 8, 3],
    build: (seed) =>
      ARCHITECTURES.resnet({
        inputShape: [8, 8, 3],
        numClasses: 3,
        seed,
        width: 4,
        stages: 2,
        blocksPerStage: 1,
      }),
  },
  {
    name: 'vit',
    inputShape: [8, 8, 1],
    build: (seed) =>
      ARCHITECTURES.vit({
        inputShape: [8, 8, 1],
        numClasses: 3,
        seed,
        patchSize: 4,
        dim: 8,
        depth: 2,
        heads: 2,
        mlpRatio: 2,
      }),
  },
];

describe.each(CASES)('$name', ({ inputShape, build }) => {
  it('ends in a linear `logits` layer fed by the `embedding` layer', () => {
    const model = build(1);
    const logits = model.getLayer(MODEL_LAYER_NAMES.logits);
    expect(model.layers[model.layers.length - 1]).toBe(logits);
    expect(logits.getConfig().activation).toBe('linear');
    const inbound = (logits as unknown as { inboundNodes: Array<{ inboundLayers: tfl.layers.Layer[] }> })
      .inboundNodes[0]!.inboundLayers;
    expect(inbound.map((layer) => layer.name)).toEqual([MODEL_LAYER_NAMES.embedding]);
    model.dispose();
  });

  it('trains on wasm: the loss falls and the tensor count stays flat', () => {
    expect(tf.getBackend()).toBe('wasm');
    const model = build(1);
    const batch = tinyBatch(inputShape, 3, 6, 11);
    const { losses, tensorCounts } = trainSteps(model, batch, 8);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[7]!).toBeLessThan(losses[0]! * 0.8);
    // The first step creates the optimizer's moments; from then on nothing may accumulate.
    expect(new Set(tensorCounts.slice(1)).size).toBe(1);
    tf.dispose([batch.xs, batch.ys]);
    model.dispose();
  });

  it('saves and reloads (TF.js save + tf.io.fromMemory) with identical predictions', async () => {
    const model = build(2);
    const batch = tinyBatch(inputShape, 3, 4, 12);
    trainSteps(model, batch, 2); // moves the batch-norm statistics away from their initial values
    const reloaded = await saveAndReload(model);
    expect(reloaded.layers.map((l) => l.name)).toEqual(model.layers.map((l) => l.name));
    expect(predictValues(reloaded, batch.xs)).toEqual(predictValues(model, batch.xs));
    tf.dispose([batch.xs, batch.ys]);
    model.dispose();
    reloaded.dispose();
  });

  it('gives bit-identical initial weights for the same seed and different ones for another', () => {
    const [a, b, c] = [build(7), build(7), build(8)];
    const [wa, wb, wc] = [weightValues(a), weightValues(b), weightValues(c)];
    expect(wa.length).toBeGreaterThan(0);
    expect(wb).toEqual(wa);
    // Every randomly initialised weight differs with the seed (zeros and ones initialisers stay equal).
    const random = wa.map((w, i) => (new Set(w).size > 1 ? i : -1)).filter((i) => i >= 0);
    expect(random.length).toBeGreaterThan(0);
    for (const i of random) expect(wc[i]).not.toEqual(wa[i]);
    for (const model of [a, b, c]) model.dispose();
  });
});

describe('buildModel', () => {
  it('builds the reference CNN from an empty model section: the benchmark network, unchanged', async () => {
    const model = await buildModel(modelConfigSchema.parse(undefined), {
      inputShape: [28, 28, 1],
      numClasses: 10,
      seed: 42,
    });
    expect(model.layers.map((l) => [l.getClassName(), l.outputShape])).toEqual([
      ['Conv2D', [null, 26, 26, 32]],
      ['MaxPooling2D', [null, 13, 13, 32]],
      ['Conv2D', [null, 11, 11, 64]],
      ['MaxPooling2D', [null, 5, 5, 64]],
      ['Flatten', [null, 1600]],
      ['Dense', [null, 128]],
      ['Dense', [null, 10]],
    ]);
    expect(model.countParams()).toBe(225_034);
    model.dispose();
  });

  it('passes each architecture its options from the config', async () => {
    const options = { inputShape: [28, 28, 1] as InputShape, numClasses: 10, seed: 1 };
    const vit = await buildModel(
      modelConfigSchema.parse({ architecture: 'vit', patchSize: 14, dim: 12, depth: 1, heads: 3 }),
      options,
    );
    expect(vit.getLayer('position_embedding').getWeights()[0]!.shape).toEqual([5, 12]);
    expect(vit.layers.filter((l) => l.getClassName() === 'MultiHeadSelfAttention')).toHaveLength(1);
    const resnet = await buildModel(
      modelConfigSchema.parse({ architecture: 'resnet', width: 4, stages: 2, blocksPerStage: 2 }),
      options,
    );
    expect(resnet.getLayer(MODEL_LAYER_NAMES.embedding).outputShape).toEqual([null, 8]);
    expect(resnet.layers.filter((l) => l.getClassName() === 'Add')).toHaveLength(4);
    vit.dispose();
    resnet.dispose();
  });
});
