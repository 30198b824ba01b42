import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { layerSeed } from './seeds.ts';

// tfjs-layers 4.22 has no attention, class-token or position-embedding layer; these are the ViT's. Each one is
// a proper Layer (weights through addWeight, getConfig for model.json) so a saved ViT loads again once
// registerCustomLayers() has run.

type LayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>;
type Kwargs = Parameters<tfl.layers.Layer['call']>[1];
type ConfigDict = ReturnType<tfl.layers.Layer['getConfig']>;

function oneTensor(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0]! : inputs;
}

function oneShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
  return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
}

/** Last axis of a [batch, tokens, dim] shape, checked: these layers only take token sequences. */
function tokenShape(layer: string, inputShape: tfl.Shape | tfl.Shape[]): { tokens: number; dim: number } {
  const shape = oneShape(inputShape);
  const [, tokens, dim] = shape;
  if (shape.length !== 3 || typeof tokens !== 'number' || typeof dim !== 'number') {
    throw new TypeError(
      `${layer} takes [batch, tokens, dim] inputs with known tokens and dim, got [${shape}]`,
    );
  }
  return { tokens, dim };
}

export interface SeededLayerArgs extends LayerArgs {
  /** Seed of this layer's initializers (already derived for the layer). */
  seed: number;
}

/** Prepends a learned token to the sequence: [batch, tokens, dim] -> [batch, tokens + 1, dim]. */
export class ClassToken extends tfl.layers.Layer {
  static readonly className = 'ClassToken';
  private token: tfl.LayerVariable | undefined;

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const { dim } = tokenShape(ClassToken.className, inputShape);
    // Zero-initialised as in the original ViT: the token learns its content entirely from the data.
    this.token = this.addWeight('token', [1, 1, dim], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = oneShape(inputShape);
    const tokens = shape[1];
    return [shape[0]!, tokens == null ? null : tokens + 1, shape[2]!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = oneTensor(inputs);
      // A broadcasting add rather than tf.tile: tile's gradient is one slice + add per repetition (per image).
      const token = tf.add(tf.zeros([x.shape[0]!, 1, x.shape[2]!]), this.token!.read());
      return tf.concat([token, x], 1);
    });
  }
}

/** Adds a learned embedding per position: [batch, tokens, dim] + [tokens, dim]. */
export class PositionEmbedding extends tfl.layers.Layer {
  static readonly className = 'PositionEmbedding';
  private readonly seed: number;
  private embeddings: tfl.LayerVariable | undefined;

  constructor(args: SeededLayerArgs) {
    super(args);
    this.seed = args.seed;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const { tokens, dim } = tokenShape(PositionEmbedding.className, inputShape);
    this.embeddings = this.addWeight(
      'embeddings',
      [tokens, dim],
      'float32',
      tfl.initializers.truncatedNormal({ stddev: 0.02, seed: layerSeed(this.seed, 'embeddings') }),
    );
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => tf.add(oneTensor(inputs), this.embeddings!.read()));
  }

  override getConfig(): ConfigDict {
    return { ...super.getConfig(), seed: this.seed };
  }
}

export interface MultiHeadSelfAttentionArgs extends SeededLayerArgs {
  numHeads: number;
}

/**
 * Multi-head scaled dot-product self-attention over a token sequence, with one fused query/key/value projection
 * and an output projection: [batch, tokens, dim] -> [batch, tokens, dim]. dim must be a multiple of numHeads.
 */
export class MultiHeadSelfAttention extends tfl.layers.Layer {
  static readonly className = 'MultiHeadSelfAttention';
  private readonly numHeads: number;
  private readonly seed: number;
  private qkvKernel: tfl.LayerVariable | undefined;
  private qkvBias: tfl.LayerVariable | undefined;
  private outputKernel: tfl.LayerVariable | undefined;
  private outputBias: tfl.LayerVariable | undefined;

  constructor(args: MultiHeadSelfAttentionArgs) {
    super(args);
    if (!Number.isInteger(args.numHeads) || args.numHeads < 1) {
      throw new TypeError(`numHeads must be a positive integer, got ${args.numHeads}`);
    }
    this.numHeads = args.numHeads;
    this.seed = args.seed;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const { dim } = tokenShape(MultiHeadSelfAttention.className, inputShape);
    if (dim % this.numHeads !== 0) {
      throw new TypeError(`${this.numHeads} heads do not divide dim ${dim}`);
    }
    const glorot = (name: string) => tfl.initializers.glorotUniform({ seed: layerSeed(this.seed, name) });
    this.qkvKernel = this.addWeight('qkv_kernel', [dim, 3 * dim], 'float32', glorot('qkv_kernel'));
    this.qkvBias = this.addWeight('qkv_bias', [3 * dim], 'float32', tfl.initializers.zeros());
    this.outputKernel = this.addWeight('output_kernel', [dim, dim], 'float32', glorot('output_kernel'));
    this.outputBias = this.addWeight('output_bias', [dim], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = oneTensor(inputs);
      const [batch, tokens, dim] = x.shape as [number, number, number];
      const heads = this.numHeads;
      const headDim = dim / heads;
      const rows = tf.reshape(x, [batch * tokens, dim]);
      // Fused matmul + bias: one kernel forward, and the bias gradient comes out of the same op.
      const qkv = tf.fused.matMul({ a: rows, b: this.qkvKernel!.read(), bias: this.qkvBias!.read() });
      // [batch*tokens, dim] per projection -> [batch*heads, tokens, headDim]: heads become batch entries of a
      // rank-3 batched matmul (wasm's BatchMatMul is rank-3).
      const toHeads = (t: tf.Tensor) =>
        tf.reshape(tf.transpose(tf.reshape(t, [batch, tokens, heads, headDim]), [0, 2, 1, 3]), [
          batch * heads,
          tokens,
          headDim,
        ]);
      const [q, k, v] = tf.split(qkv, 3, 1).map(toHeads) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
      // Scaling q (tokens x headDim values) is cheaper than scaling the tokens x tokens scores.
      const scores = tf.matMul(tf.mul(q, 1 / Math.sqrt(headDim)), k, false, true);
      const mixed = tf.matMul(tf.softmax(scores), v);
      const merged = tf.reshape(
        tf.transpose(tf.reshape(mixed, [batch, heads, tokens, headDim]), [0, 2, 1, 3]),
        [batch * tokens, dim],
      );
      const out = tf.fused.matMul({ a: merged, b: this.outputKernel!.read(), bias: this.outputBias!.read() });
      return tf.reshape(out, [batch, tokens, dim]);
    });
  }

  override getConfig(): ConfigDict {
    return { ...super.getConfig(), numHeads: this.numHeads, seed: this.seed };
  }
}

export interface LayerNormArgs extends LayerArgs {
  epsilon?: number;
}

/**
 * Layer normalization over the last axis with a learned scale and offset: the math of
 * `tfl.layers.layerNormalization({axis: -1})`, computed with broadcasting ops. The stock layer tiles its statistics
 * and parameters to the input's shape, and tfjs's tile gradient is one slice + add per repetition (batch x tokens
 * of them per layer): on a ViT that made a training step tens of times slower.
 */
export class LayerNorm extends tfl.layers.Layer {
  static readonly className = 'LayerNorm';
  private readonly epsilon: number;
  private gamma: tfl.LayerVariable | undefined;
  private beta: tfl.LayerVariable | undefined;

  constructor(args: LayerNormArgs = {}) {
    super(args);
    this.epsilon = args.epsilon ?? 1e-6;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = oneShape(inputShape);
    const dim = shape[shape.length - 1];
    if (typeof dim !== 'number') throw new TypeError(`LayerNorm needs a known last axis, got [${shape}]`);
    this.gamma = this.addWeight('gamma', [dim], 'float32', tfl.initializers.ones());
    this.beta = this.addWeight('beta', [dim], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = oneTensor(inputs);
      const { mean, variance } = tf.moments(x, -1, true);
      const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.epsilon)));
      return tf.add(tf.mul(normed, this.gamma!.read()), this.beta!.read());
    });
  }

  override getConfig(): ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}

/** Keeps the first token of the sequence (the class token): [batch, tokens, dim] -> [batch, dim]. */
export class ClassTokenPool extends tfl.layers.Layer {
  static readonly className = 'ClassTokenPool';

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = oneShape(inputShape);
    return [shape[0]!, shape[2]!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = oneTensor(inputs);
      const [batch, , dim] = x.shape as [number, number, number];
      return tf.reshape(tf.slice(x, [0, 0, 0], [batch, 1, dim]), [batch, dim]);
    });
  }
}

/** Every custom layer class of this package, as model.json names them. */
export const CUSTOM_LAYERS = [
  ClassToken,
  PositionEmbedding,
  MultiHeadSelfAttention,
  LayerNorm,
  ClassTokenPool,
] as const;

let registered = false;

/**
 * Makes tfjs able to deserialize this package's custom layers (`tfl.loadLayersModel`, `tf.io.fromMemory`,
 * `modelFromJSON`). Idempotent; call it before loading any model that may contain a ViT. Nothing registers at
 * import time.
 */
export function registerCustomLayers(): void {
  if (registered) return;
  for (const layer of CUSTOM_LAYERS) tf.serialization.registerClass(layer);
  registered = true;
}
