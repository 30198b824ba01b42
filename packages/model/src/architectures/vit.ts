import * as tfl from '@tensorflow/tfjs-layers';
import {
  ClassToken,
  ClassTokenPool,
  LayerNorm,
  MultiHeadSelfAttention,
  PositionEmbedding,
  registerCustomLayers,
} from './custom-layers.ts';
import { definedOnly } from './defined-only.ts';
import { MODEL_LAYER_NAMES } from './layer-names.ts';
import type { VitConfig } from './model-config.ts';
import { layerSeed } from './seeds.ts';
import type { ArchitectureOptions } from './types.ts';

export type VitOptions = ArchitectureOptions & Partial<Omit<VitConfig, 'architecture'>>;

/** Defaults of the `vit` section, for callers that build a ViT without a parsed config. */
export const VIT_DEFAULTS = { patchSize: 7, dim: 64, depth: 4, heads: 4, mlpRatio: 2 } as const;

const LAYER_NORM_EPSILON = 1e-6;

/**
 * A vision transformer: a conv with kernel = stride = patchSize embeds non-overlapping patches, a learned class
 * token goes in front, learned position embeddings are added, then `depth` pre-norm blocks
 * (x + attention(norm(x)), then x + mlp(norm(x)) with a GELU MLP of dim x mlpRatio units). The class token's final
 * layer norm is `embedding`; a dense layer to classes is `logits`. Registers the custom layers it uses.
 * Shapes are not checked here: call validateArchitecture first for a config error that says what would fit.
 */
export function createVit(options: VitOptions): tfl.LayersModel {
  const { inputShape, numClasses, seed } = options;
  const { patchSize, dim, depth, heads, mlpRatio } = { ...VIT_DEFAULTS, ...definedOnly(options) };
  registerCustomLayers();
  const glorot = (name: string) => tfl.initializers.glorotUniform({ seed: layerSeed(seed, name) });
  const apply = (layer: tfl.layers.Layer, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]) =>
    layer.apply(x) as tfl.SymbolicTensor;
  const norm = (name: string) => new LayerNorm({ name, epsilon: LAYER_NORM_EPSILON });

  const input = tfl.input({ name: 'input', shape: inputShape });
  const patches = (inputShape[0] / patchSize) * (inputShape[1] / patchSize);
  let x = apply(
    tfl.layers.conv2d({
      name: 'patch_embedding',
      filters: dim,
      kernelSize: patchSize,
      strides: patchSize,
      padding: 'valid',
      kernelInitializer: glorot('patch_embedding'),
    }),
    input,
  );
  x = apply(tfl.layers.reshape({ name: 'patch_tokens', targetShape: [patches, dim] }), x);
  x = apply(new ClassToken({ name: 'class_token' }), x);
  x = apply(
    new PositionEmbedding({ name: 'position_embedding', seed: layerSeed(seed, 'position_embedding') }),
    x,
  );
  const hidden = Math.max(1, Math.round(dim * mlpRatio));
  for (let block = 1; block <= depth; block += 1) {
    const p = `block${block}`;
    const attended = apply(
      new MultiHeadSelfAttention({
        name: `${p}_attention`,
        numHeads: heads,
        seed: layerSeed(seed, `${p}_attention`),
      }),
      apply(norm(`${p}_norm1`), x),
    );
    x = apply(tfl.layers.add({ name: `${p}_add1` }), [x, attended]);
    let mlp = apply(norm(`${p}_norm2`), x);
    mlp = apply(
      tfl.layers.dense({
        name: `${p}_mlp1`,
        units: hidden,
        activation: 'gelu',
        kernelInitializer: glorot(`${p}_mlp1`),
      }),
      mlp,
    );
    mlp = apply(
      tfl.layers.dense({ name: `${p}_mlp2`, units: dim, kernelInitializer: glorot(`${p}_mlp2`) }),
      mlp,
    );
    x = apply(tfl.layers.add({ name: `${p}_add2` }), [x, mlp]);
  }
  // Layer norm is per token, so normalising only the class token equals normalising the sequence and taking it.
  x = apply(new ClassTokenPool({ name: 'class_token_pool' }), x);
  const embedding = apply(norm(MODEL_LAYER_NAMES.embedding), x);
  const logits = apply(
    tfl.layers.dense({
      name: MODEL_LAYER_NAMES.logits,
      units: numClasses,
      kernelInitializer: glorot(MODEL_LAYER_NAMES.logits),
    }),
    embedding,
  );
  return tfl.model({ name: 'vit', inputs: input, outputs: logits });
}
