export { CIFAR_RECORD_BYTES, CIFAR_SIDE, parseCifarBatch, readCifar10Archive } from './cifar10.ts';
export {
  type Cifar10SourceConfig,
  cifar10SourceSchema,
  type FashionMnistSourceConfig,
  fashionMnistSourceSchema,
  type ImageFolderSourceConfig,
  imageFolderSourceSchema,
  type MnistSourceConfig,
  mnistSourceSchema,
  SOURCE_KINDS,
  type SourceConfig,
  type SourceConfigInput,
  type SourceKind,
  sourceConfigSchema,
} from './config.ts';
export type { LoadSourceOptions } from './context.ts';
export { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, parseIdxImages, parseIdxLabels, readIdxFile } from './idx.ts';
export * from './known-files.ts';
export { loadSource } from './load-source.ts';
export type * from './types.ts';
