import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/**
 * Small instances of the three architecture families the product trains, used to prove that every kernel their
 * forward and backward passes touch runs on wasm. The model package owns the real, configurable architectures.
 */
export interface TrainableModel {
  /** Logits [batch, classes]; `training` switches batch norm to batch statistics. */
  apply(xs: tf.Tensor4D, training: boolean): tf.Tensor2D;
  variables: tf.Variable[];
}

export function referenceCnn(inputShape: [number, number, number], classes: number): TrainableModel {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape, filters: 32, kernelSize: 3, activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 128, activation: 'relu' }),
      tfl.layers.dense({ units: classes }),
    ],
  });
  return fromLayersModel(model);
}

/** Strided convs, batch norm, residual adds, global average pooling. */
export function tinyResNet(inputShape: [number, number, number], classes: number): TrainableModel {
  const input = tfl.input({ shape: inputShape });
  const convBn = (x: tfl.SymbolicTensor, filters: number, strides: number, relu: boolean) => {
    let y = tfl.layers
      .conv2d({ filters, kernelSize: 3, strides, padding: 'same', useBias: false })
      .apply(x) as tfl.SymbolicTensor;
    y = tfl.layers.batchNormalization().apply(y) as tfl.SymbolicTensor;
    return relu ? (tfl.layers.reLU().apply(y) as tfl.SymbolicTensor) : y;
  };
  let x = convBn(input, 8, 1, true);
  for (const [filters, strides] of [
    [8, 1],
    [16, 2],
  ] as const) {
    const shortcut =
      strides === 1
        ? x
        : (tfl.layers
            .conv2d({ filters, kernelSize: 1, strides, useBias: false })
            .apply(x) as tfl.SymbolicTensor);
    const y = convBn(convBn(x, filters, strides, true), filters, 1, false);
    x = tfl.layers.reLU().apply(tfl.layers.add().apply([y, shortcut])) as tfl.SymbolicTensor;
  }
  const pooled = tfl.layers.globalAveragePooling2d({}).apply(x) as tfl.SymbolicTensor;
  const logits = tfl.layers.dense({ units: classes }).apply(pooled) as tfl.SymbolicTensor;
  return fromLayersModel(tfl.model({ inputs: input, outputs: logits }));
}

function fromLayersModel(model: tfl.LayersModel): TrainableModel {
  return {
    apply: (xs, training) => model.apply(xs, { training }) as tf.Tensor2D,
    variables: model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val),
  };
}

/**
 * Patch embedding (conv with stride = patch), class token, position embedding, pre-norm transformer blocks with
 * multi-head attention through batched matmuls + softmax, GELU MLP. Written with ops because tfjs-layers has no
 * attention layer.
 */
export function tinyVit(
  inputShape: [number, number, number],
  classes: number,
  { patch = 7, dim = 16, heads = 2, depth = 1 } = {},
): TrainableModel {
  const tokens = (inputShape[0] / patch) * (inputShape[1] / patch) + 1;
  const headDim = dim / heads;
  const init = (shape: number[], scale = 0.1) => tf.variable(tf.randomNormal(shape, 0, scale, 'float32', 7));
  const ones = (n: number) => tf.variable(tf.ones([n]));
  const zeros = (n: number) => tf.variable(tf.zeros([n]));
  const params = {
    patchKernel: init([patch, patch, inputShape[2], dim]),
    patchBias: zeros(dim),
    classToken: init([1, 1, dim]),
    position: init([1, tokens, dim]),
    blocks: Array.from({ length: depth }, () => ({
      norm1: [ones(dim), zeros(dim)] as const,
      qkv: init([dim, 3 * dim]),
      proj: init([dim, dim]),
      norm2: [ones(dim), zeros(dim)] as const,
      mlp1: init([dim, 2 * dim]),
      mlp2: init([2 * dim, dim]),
    })),
    headNorm: [ones(dim), zeros(dim)] as const,
    head: init([dim, classes]),
  };
  const layerNorm = (x: tf.Tensor, [gamma, beta]: readonly [tf.Variable, tf.Variable]) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-6))), gamma), beta);
  };
  const dense = (x: tf.Tensor, w: tf.Variable) => {
    const [b, t, d] = x.shape as [number, number, number];
    return tf.reshape(tf.matMul(tf.reshape(x, [b * t, d]), w), [b, t, w.shape[1]!]);
  };
  const gelu = (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));
  const attention = (x: tf.Tensor, block: (typeof params.blocks)[number]) => {
    const [b, t] = x.shape as [number, number, number];
    const qkv = tf.transpose(tf.reshape(dense(x, block.qkv), [b, t, 3, heads, headDim]), [2, 0, 3, 1, 4]);
    const [q, k, v] = tf.unstack(qkv).map((m) => tf.reshape(m, [b * heads, t, headDim]));
    const weights = tf.softmax(tf.div(tf.matMul(q!, k!, false, true), Math.sqrt(headDim)));
    const mixed = tf.reshape(
      tf.transpose(tf.reshape(tf.matMul(weights, v!), [b, heads, t, headDim]), [0, 2, 1, 3]),
      [b, t, dim],
    );
    return dense(mixed, block.proj);
  };
  return {
    apply: (xs) => {
      const batch = xs.shape[0];
      const patches = tf.add(
        tf.conv2d(xs, params.patchKernel as tf.Tensor4D, patch, 'valid'),
        params.patchBias,
      );
      let x: tf.Tensor = tf.reshape(patches, [batch, tokens - 1, dim]);
      x = tf.concat([tf.tile(params.classToken, [batch, 1, 1]), x], 1);
      x = tf.add(x, params.position);
      for (const block of params.blocks) {
        x = tf.add(x, attention(layerNorm(x, block.norm1), block));
        x = tf.add(x, dense(gelu(dense(layerNorm(x, block.norm2), block.mlp1)), block.mlp2));
      }
      const cls = tf.reshape(tf.slice(layerNorm(x, params.headNorm), [0, 0, 0], [batch, 1, dim]), [
        batch,
        dim,
      ]);
      return tf.matMul(cls, params.head) as tf.Tensor2D;
    },
    variables: [
      params.patchKernel,
      params.patchBias,
      params.classToken,
      params.position,
      ...params.blocks.flatMap((b) => [...b.norm1, b.qkv, b.proj, ...b.norm2, b.mlp1, b.mlp2]),
      ...params.headNorm,
      params.head,
    ],
  };
}
