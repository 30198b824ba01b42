export { CNN_MIN_SIDE, type CnnOptions, createCnn } from './cnn.ts';
export {
  ClassToken,
  ClassTokenPool,
  CUSTOM_LAYERS,
  LayerNorm,
  MultiHeadSelfAttention,
  PositionEmbedding,
  registerCustomLayers,
} from './custom-layers.ts';
export { ARCHITECTURES, buildModel } from './factories.ts';
export { MODEL_LAYER_NAMES } from './layer-names.ts';
export { loadPretrained, type PretrainedSource } from './load-pretrained.ts';
export {
  ARCHITECTURE_NAMES,
  type ArchitectureName,
  type CnnConfig,
  type HeadConfig,
  type ModelConfig,
  modelConfigSchema,
  type PretrainedConfig,
  type ResnetConfig,
  type UnfreezeConfig,
  type VitConfig,
} from './model-config.ts';
export {
  createPretrained,
  HEAD_DEFAULTS,
  type PretrainedOptions,
  unfreezeTop,
  useInferenceModeForFrozenBatchNorm,
} from './pretrained.ts';
export { createResnet, RESNET_DEFAULTS, type ResnetOptions } from './resnet.ts';
export type { ArchitectureOptions, InputShape } from './types.ts';
export { validateArchitecture } from './validate.ts';
export { createVit, VIT_DEFAULTS, type VitOptions } from './vit.ts';
