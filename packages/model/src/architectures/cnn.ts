import * as tfl from '@tensorflow/tfjs-layers';
import { MODEL_LAYER_NAMES } from './layer-names.ts';
import type { CnnConfig } from './model-config.ts';
import { layerSeed } from './seeds.ts';
import type { ArchitectureOptions } from './types.ts';

/** Smallest image side the reference CNN takes: two valid 3x3 convs and two 2x2 pools leave a 1x1 map. */
export const CNN_MIN_SIDE = 10;

export type CnnOptions = ArchitectureOptions & Partial<Omit<CnnConfig, 'architecture'>>;

/**
 * The reference CNN of the benchmarks (and a sound MNIST baseline): conv 3x3x32 valid + ReLU, maxpool 2,
 * conv 3x3x64 valid + ReLU, maxpool 2, flatten, dense 128 + ReLU (`embedding`), dense to class logits (`logits`).
 * With `dropout` > 0 a dropout layer sits between flatten and the 128-unit layer. The softmax is left to the loss
 * (numerically stabler) and to inference. Layers have fixed names (conv1, pool1, conv2, pool2, flatten, ...) so a
 * pretrained config can cut at them.
 */
export function createCnn({ inputShape, numClasses, seed, dropout = 0 }: CnnOptions): tfl.LayersModel {
  const glorot = (name: string) => tfl.initializers.glorotUniform({ seed: layerSeed(seed, name) });
  const model = tfl.sequential({ name: 'cnn' });
  const conv = (name: string, filters: number, first = false) =>
    tfl.layers.conv2d({
      name,
      ...(first ? { inputShape } : {}),
      filters,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: glorot(name),
    });
  model.add(conv('conv1', 32, true));
  model.add(tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }));
  model.add(conv('conv2', 64));
  model.add(tfl.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }));
  model.add(tfl.layers.flatten({ name: 'flatten' }));
  if (dropout > 0) {
    model.add(tfl.layers.dropout({ name: 'dropout', rate: dropout, seed: layerSeed(seed, 'dropout') }));
  }
  model.add(
    tfl.layers.dense({
      name: MODEL_LAYER_NAMES.embedding,
      units: 128,
      activation: 'relu',
      kernelInitializer: glorot(MODEL_LAYER_NAMES.embedding),
    }),
  );
  model.add(
    tfl.layers.dense({
      name: MODEL_LAYER_NAMES.logits,
      units: numClasses,
      kernelInitializer: glorot(MODEL_LAYER_NAMES.logits),
    }),
  );
  return model;
}
