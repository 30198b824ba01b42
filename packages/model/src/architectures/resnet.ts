import * as tfl from '@tensorflow/tfjs-layers';
import { definedOnly } from './defined-only.ts';
import { MODEL_LAYER_NAMES } from './layer-names.ts';
import type { ResnetConfig } from './model-config.ts';
import { layerSeed } from './seeds.ts';
import type { ArchitectureOptions } from './types.ts';

export type ResnetOptions = ArchitectureOptions & Partial<Omit<ResnetConfig, 'architecture'>>;

/** Defaults of the `resnet` section, for callers that build a ResNet without a parsed config. */
export const RESNET_DEFAULTS = { width: 16, stages: 3, blocksPerStage: 1 } as const;

/**
 * A ResNet of basic blocks (He et al. 2016, the CIFAR variant): a 3x3 conv stem with batch norm and ReLU, then
 * `stages` stages of `blocksPerStage` blocks (3x3 conv, BN, ReLU, 3x3 conv, BN, add the shortcut, ReLU). Stage s has
 * width x 2^s filters; every stage after the first starts with a stride-2 block whose shortcut is a 1x1 conv + BN.
 * Global average pooling is `embedding`, a dense layer to classes is `logits`. Stock layers only.
 * Shapes are not checked here: call validateArchitecture first for a config error that says what would fit.
 */
export function createResnet(options: ResnetOptions): tfl.LayersModel {
  const { inputShape, numClasses, seed } = options;
  const { width, stages, blocksPerStage } = { ...RESNET_DEFAULTS, ...definedOnly(options) };
  const apply = (layer: tfl.layers.Layer, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]) =>
    layer.apply(x) as tfl.SymbolicTensor;
  const convBn = (
    name: string,
    x: tfl.SymbolicTensor,
    filters: number,
    { kernelSize = 3, strides = 1 }: { kernelSize?: number; strides?: number } = {},
  ) => {
    const conv = tfl.layers.conv2d({
      name,
      filters,
      kernelSize,
      strides,
      padding: 'same',
      // Batch norm follows, so a bias would only duplicate its beta.
      useBias: false,
      kernelInitializer: tfl.initializers.heNormal({ seed: layerSeed(seed, name) }),
    });
    return apply(tfl.layers.batchNormalization({ name: `${name}_bn` }), apply(conv, x));
  };
  const relu = (name: string, x: tfl.SymbolicTensor) => apply(tfl.layers.reLU({ name }), x);

  const input = tfl.input({ name: 'input', shape: inputShape });
  let x = relu('stem_relu', convBn('stem_conv', input, width));
  let channels = width;
  for (let stage = 1; stage <= stages; stage += 1) {
    const filters = width * 2 ** (stage - 1);
    for (let block = 1; block <= blocksPerStage; block += 1) {
      const p = `stage${stage}_block${block}`;
      const strides = stage > 1 && block === 1 ? 2 : 1;
      let y = relu(`${p}_relu1`, convBn(`${p}_conv1`, x, filters, { strides }));
      y = convBn(`${p}_conv2`, y, filters);
      const shortcut =
        strides === 1 && channels === filters
          ? x
          : convBn(`${p}_shortcut`, x, filters, { kernelSize: 1, strides });
      x = relu(`${p}_relu2`, apply(tfl.layers.add({ name: `${p}_add` }), [y, shortcut]));
      channels = filters;
    }
  }
  const embedding = apply(tfl.layers.globalAveragePooling2d({ name: MODEL_LAYER_NAMES.embedding }), x);
  const logits = apply(
    tfl.layers.dense({
      name: MODEL_LAYER_NAMES.logits,
      units: numClasses,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: layerSeed(seed, MODEL_LAYER_NAMES.logits) }),
    }),
    embedding,
  );
  return tfl.model({ name: 'resnet', inputs: input, outputs: logits });
}
