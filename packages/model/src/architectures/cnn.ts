import * as tfl from '@tensorflow/tfjs-layers';

export interface ArchitectureOptions {
  /** [height, width, channels] of one input image. */
  inputShape: [number, number, number];
  numClasses: number;
}

/**
 * The reference CNN of the benchmarks (and a sound MNIST baseline): conv 3x3x32 valid + ReLU, maxpool 2,
 * conv 3x3x64 valid + ReLU, maxpool 2, flatten, dense 128 + ReLU, dense to class logits. The softmax is left to
 * the loss (numerically stabler) and to inference.
 */
export function createCnn({ inputShape, numClasses }: ArchitectureOptions): tfl.LayersModel {
  const model = tfl.sequential({ name: 'cnn' });
  model.add(tfl.layers.conv2d({ inputShape, filters: 32, kernelSize: 3, activation: 'relu' }));
  model.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tfl.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }));
  model.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tfl.layers.flatten());
  model.add(tfl.layers.dense({ units: 128, activation: 'relu' }));
  model.add(tfl.layers.dense({ units: numClasses }));
  return model;
}

/** Architectures by name: the YAML picks a key, never a class path. */
export const ARCHITECTURES = { cnn: createCnn } as const satisfies Record<
  string,
  (options: ArchitectureOptions) => tfl.LayersModel
>;
