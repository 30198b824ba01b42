export { ARCHITECTURES, type ArchitectureOptions, createCnn } from './architectures/cnn.ts';
export {
  type ExperimentConfig,
  experimentConfigSchema,
  type ModelConfig,
  modelConfigSchema,
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
