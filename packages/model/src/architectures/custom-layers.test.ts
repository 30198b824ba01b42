import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ClassToken,
  ClassTokenPool,
  CUSTOM_LAYERS,
  LayerNorm,
  MultiHeadSelfAttention,
  PositionEmbedding,
  registerCustomLayers,
} from './custom-layers.ts';

// Forward math on the cpu backend (tfjs's reference kernels); training on wasm is covered per architecture.
beforeAll(async () => {
  await tf.setBackend('cpu');
});
const values = (t: tf.Tensor) => Array.from(t.dataSync());

describe('MultiHeadSelfAttention', () => {
  it('equals scaled dot-product attention computed head by head in plain JS', async () => {
    const [tokens, dim, heads] = [3, 4, 2];
    const layer = new MultiHeadSelfAttention({ numHeads: heads, seed: 5 });
    const x = tf.randomNormal([1, tokens, dim], 0, 1, 'float32', 9);
    const out = layer.apply(x) as tf.Tensor;
    // Non-zero biases, so their placement is checked too.
    layer.setWeights(
      layer.getWeights().map((w, i) => (i % 2 === 1 ? tf.randomNormal(w.shape, 0, 1, 'float32', i) : w)),
    );
    const actual = values(layer.apply(x) as tf.Tensor);
    const [wqkv, bqkv, wo, bo] = layer.getWeights().map((w) => w.arraySync()) as [
      number[][],
      number[],
      number[][],
      number[],
    ];
    const rows = (x.arraySync() as number[][][])[0]!;
    const project = (row: number[], w: number[][], b: number[]) =>
      b.map((bias, j) => bias + row.reduce((sum, v, i) => sum + v * w[i]![j]!, 0));
    const qkv = rows.map((row) => project(row, wqkv, bqkv));
    const headDim = dim / heads;
    const merged = rows.map(() => new Array<number>(dim).fill(0));
    for (let h = 0; h < heads; h += 1) {
      const slice = (t: number, part: number) =>
        qkv[t]!.slice(part * dim + h * headDim, part * dim + (h + 1) * headDim);
      for (let t = 0; t < tokens; t += 1) {
        const scores = rows.map(
          (_, s) => slice(t, 0).reduce((sum, q, i) => sum + q * slice(s, 1)[i]!, 0) / Math.sqrt(headDim),
        );
        const max = Math.max(...scores);
        const exps = scores.map((s) => Math.exp(s - max));
        const total = exps.reduce((a, b) => a + b, 0);
        for (let s = 0; s < tokens; s += 1) {
          const v = slice(s, 2);
          for (let i = 0; i < headDim; i += 1) merged[t]![h * headDim + i]! += (exps[s]! / total) * v[i]!;
        }
      }
    }
    const expected = merged.flatMap((row) => project(row, wo, bo));
    expect(actual.length).toBe(expected.length);
    for (const [i, v] of actual.entries()) expect(v).toBeCloseTo(expected[i]!, 4);
    expect(layer.getConfig()).toMatchObject({ numHeads: 2, seed: 5 });
    tf.dispose([x, out]);
  });

  it('refuses a head count that does not divide the token width', () => {
    const layer = new MultiHeadSelfAttention({ numHeads: 3, seed: 1 });
    expect(() => layer.apply(tfl.input({ shape: [5, 8] }))).toThrow(/3 heads do not divide dim 8/);
  });
});

describe('LayerNorm', () => {
  it('matches tfjs layerNormalization (axis -1) in value and input gradient', async () => {
    const x = tf.randomNormal([2, 3, 6], 1, 2, 'float32', 3);
    const ours = new LayerNorm({ epsilon: 1e-3 });
    const stock = tfl.layers.layerNormalization({ epsilon: 1e-3 });
    ours.apply(x);
    stock.apply(x);
    const params = [tf.randomNormal([6], 1, 0.5, 'float32', 4), tf.randomNormal([6], 0, 0.5, 'float32', 5)];
    ours.setWeights(params);
    stock.setWeights(params);
    const up = tf.randomNormal([2, 3, 6], 0, 1, 'float32', 6);
    const grad = (layer: tfl.layers.Layer) =>
      tf.grad((input: tf.Tensor) => tf.sum(tf.mul(layer.apply(input) as tf.Tensor, up)))(x);
    const forward = (layer: tfl.layers.Layer) => values(layer.apply(x) as tf.Tensor);
    for (const [i, v] of forward(ours).entries()) expect(v).toBeCloseTo(forward(stock)[i]!, 5);
    for (const [i, v] of values(grad(ours)).entries()) expect(v).toBeCloseTo(values(grad(stock))[i]!, 4);
    expect(ours.getConfig()).toMatchObject({ epsilon: 1e-3 });
  });
});

describe('ClassToken, PositionEmbedding, ClassTokenPool', () => {
  it('prepend a token, add a per-position embedding and take the first token back', async () => {
    const x = tf.randomNormal([2, 4, 3], 0, 1, 'float32', 1);
    const token = new ClassToken({});
    const withToken = token.apply(x) as tf.Tensor;
    expect(withToken.shape).toEqual([2, 5, 3]);
    token.setWeights([tf.tensor3d([[[1, 2, 3]]])]);
    const position = new PositionEmbedding({ seed: 3 });
    const positioned = position.apply(token.apply(x) as tf.Tensor) as tf.Tensor;
    const embeddings = position.getWeights()[0]!;
    expect(embeddings.shape).toEqual([5, 3]);
    const pooled = new ClassTokenPool({}).apply(positioned) as tf.Tensor;
    expect(pooled.shape).toEqual([2, 3]);
    const row0 = values(embeddings)
      .slice(0, 3)
      .map((e, i) => e + [1, 2, 3][i]!);
    for (const [i, v] of values(pooled).entries()) expect(v).toBeCloseTo(row0[i % 3]!, 6);
  });
});

describe('registerCustomLayers', () => {
  it('is idempotent and lets tfjs deserialize every custom layer by its class name', async () => {
    registerCustomLayers();
    registerCustomLayers();
    const classNameMap = tf.serialization.SerializationMap.getMap().classNameMap;
    for (const layer of CUSTOM_LAYERS) expect(classNameMap[layer.className]?.[0]).toBe(layer);
    const input = tfl.input({ shape: [4, 8] });
    let x = new ClassToken({ name: 'cls' }).apply(input) as tfl.SymbolicTensor;
    x = new PositionEmbedding({ name: 'pos', seed: 1 }).apply(x) as tfl.SymbolicTensor;
    x = new MultiHeadSelfAttention({ name: 'att', numHeads: 2, seed: 2 }).apply(x) as tfl.SymbolicTensor;
    x = new LayerNorm({ name: 'norm' }).apply(x) as tfl.SymbolicTensor;
    x = new ClassTokenPool({ name: 'pool' }).apply(x) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: x });
    const copy = await tfl.models.modelFromJSON({
      modelTopology: model.toJSON(null, false) as tf.io.ModelJSON['modelTopology'],
    });
    expect(copy.layers.map((l) => l.getClassName())).toEqual(model.layers.map((l) => l.getClassName()));
    expect(copy.getLayer('att').getConfig()).toMatchObject({ numHeads: 2, seed: 2 });
    model.dispose();
    copy.dispose();
  });
});
