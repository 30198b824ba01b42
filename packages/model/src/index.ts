export * from './architectures/index.ts';
export {
  type BundleContents,
  type PublishedBundle,
  type PublishOptions,
  publishBundle,
  writeBundle,
} from './bundle/export-bundle.ts';
export {
  BUNDLE_FILE,
  BUNDLE_FORMAT_VERSION,
  type BundleFile,
  type BundleManifest,
  bundleManifestSchema,
  LATEST_POINTER_FILE,
  type LatestPointer,
  latestPointerSchema,
  MODEL_FILE,
  QUANTIZATIONS,
  type Quantization,
  REFERENCE_FILE,
} from './bundle/format.ts';
export { type LoadBundleOptions, type LoadedBundle, loadBundle } from './bundle/load-bundle.ts';
export { type GitInfo, readGitInfo } from './bundle/provenance.ts';
export {
  type ResolvedBundle,
  readBundleManifest,
  resolveBundle,
  verifyBundleFiles,
} from './bundle/read-bundle.ts';
export {
  CONFIDENCE_RANGE,
  computeReferenceStatistics,
  equalWidthEdges,
  type FeatureReference,
  type Histogram,
  histogram,
  imageChannelStats,
  PIXEL_MEAN_RANGE,
  PIXEL_STD_RANGE,
  REFERENCE_BINS,
  type ReferenceOptions,
  type ReferenceStatistics,
  referenceStatisticsSchema,
} from './bundle/reference.ts';
export {
  type ExperimentConfig,
  experimentConfigSchema,
  type TrainConfig,
  trainConfigSchema,
} from './config.ts';
export * from './evaluate/index.ts';
export { saveModel } from './save-model.ts';
export * from './tracking/index.ts';
export {
  accuracy,
  type EpochMetrics,
  type TrainDependencies,
  type TrainResult,
  train,
} from './train.ts';
export type { Batch, TrainingData, TrainingSplit } from './training-data.ts';
