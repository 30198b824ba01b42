export * from './architectures/index.ts';
export {
  type ExperimentConfig,
  experimentConfigSchema,
  type TrainConfig,
  trainConfigSchema,
} from './config.ts';
export { saveModel } from './save-model.ts';
export {
  accuracy,
  type EpochMetrics,
  type TrainDependencies,
  type TrainResult,
  train,
} from './train.ts';
export type { Batch, TrainingData, TrainingSplit } from './training-data.ts';
