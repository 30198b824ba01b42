import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ARCHITECTURES } from '../architectures/cnn.ts';
import type { ModelConfig } from '../model-config.ts';

/**
 * Builds the configured network with weights initialised from `seed`.
 *
 * Seam: the architectures module is gaining `ARCHITECTURES[name]({ inputShape, numClasses, seed, ...options })`
 * with seeded initializers and `validateArchitecture`; until then the reference CNN is built as before and its
 * initial weights are drawn again from seeded initializers of the same kinds (Glorot-uniform kernels, zero biases),
 * so `train.seed` fixes them.
 */
export function buildModel(
  config: ModelConfig,
  options: { inputShape: [number, number, number]; numClasses: number; seed: number },
): tfl.LayersModel {
  const model = ARCHITECTURES[config.architecture]({
    inputShape: options.inputShape,
    numClasses: options.numClasses,
  });
  const values = model.weights.map((weight, index) => {
    const shape = [...weight.shape] as number[];
    if (weight.name.endsWith('/bias')) return tf.zeros(shape);
    return tfl.initializers.glorotUniform({ seed: options.seed * 1000 + index }).apply(shape);
  });
  model.setWeights(values);
  tf.dispose(values);
  return model;
}
