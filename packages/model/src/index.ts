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
export { type Checkpoint, CheckpointStore, type LoadedCheckpoint } from './checkpoints/checkpoint-store.ts';
export { type CommandContext, runTrainCommand } from './commands.ts';
export {
  EXPERIMENT_NAME,
  type ExperimentConfig,
  experimentConfigSchema,
  type TrainConfig,
  trainConfigSchema,
} from './config.ts';
export * from './evaluate/index.ts';
export { runEvaluateCommand } from './evaluate-command.ts';
export { type LoadExperimentOptions, loadExperimentConfig } from './load-experiment.ts';
export { createSlotOptimizer } from './optim/slot-optimizer.ts';
export type { OptimizerState, TrainOptimizer } from './optim/types.ts';
export { saveModel } from './save-model.ts';
export * from './tracking/index.ts';
export { type TrainDependencies, type TrainOptions, type TrainResult, train } from './train.ts';
export {
  SIGNAL_EXIT_CODES,
  type StopSignal,
  TrainingDivergedError,
  TrainingInterruptedError,
} from './training/errors.ts';
export type { EpochMetrics } from './training/metric-monitor.ts';
export { createProgressReporter, type ProgressReporter } from './training/progress.ts';
