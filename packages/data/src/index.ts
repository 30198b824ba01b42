// The data package: sources, preprocessing, versioned datasets, loader, report, `pnpm data`.
export { type DataConfig, type DataConfigInput, dataConfigSchema } from './config.ts';
export { download } from './download/index.ts';
export { CorruptImageError } from './errors.ts';
export {
  computeDatasetVersion,
  DATASET_FORMAT_VERSION,
  type DatasetManifest,
  LATEST_FILE,
  MANIFEST_FILE,
  manifestSchema,
  type ShardEntry,
  SPLITS,
  type SplitName,
} from './format/manifest.ts';
export { type OpenDatasetOptions, openDataset, PreparedDataset } from './format/open-dataset.ts';
export { decodeShard, encodeShard, SHARD_FORMAT_VERSION, type Shard } from './format/shard.ts';
export {
  type AugmentFn,
  composeAugmentations,
  type Normalization,
  normalizedPixelRange,
  randomBrightness,
  randomContrast,
  randomCrop,
  randomFlip,
  randomShift,
} from './loader/augment.ts';
export type { Batch, BatchOptions, BatchSource } from './loader/batches.ts';
export {
  type CaptionLine,
  CHART_FONT,
  type ChartSpec,
  type GridTile,
  type ImageGridOptions,
  type RenderChartOptions,
  renderChartPng,
  renderChartSvg,
  renderImageGrid,
  svgToPng,
} from './plot/index.ts';
export { type ClassSelector, filterClasses } from './prepare/class-filter.ts';
export {
  datasetNameFor,
  datasetUriFor,
  type LoadSourceFn,
  type PrepareOptions,
  type PrepareResult,
  prepareDataset,
} from './prepare/prepare-dataset.ts';
export { normalizationTable, normalizePixels } from './preprocess/normalize.ts';
export { configureSharpForBatches, type ImageInput, preprocessImage } from './preprocess/preprocess-image.ts';
export {
  imageBytes,
  type PreprocessSpec,
  type PreprocessSpecInput,
  preprocessSpecSchema,
} from './preprocess/spec.ts';
export { type ReportOptions, writeReport } from './report/report.ts';
export type { DataReport } from './report/report-types.ts';
export { type LoadSourceOptions, loadSource, SOURCE_KINDS, sourceConfigSchema } from './sources/index.ts';
export type { EncodedImage, RawPixels, SourceDataset, SourceSample } from './sources/types.ts';
