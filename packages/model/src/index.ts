export { ARCHITECTURES, type ArchitectureOptions, createCnn } from './architectures/cnn.ts';
export { type Checkpoint, CheckpointStore, type LoadedCheckpoint } from './checkpoints/checkpoint-store.ts';
export { type CommandContext, runTrainCommand } from './commands.ts';
export {
  EXPERIMENT_NAME,
  type ExperimentConfig,
  experimentConfigSchema,
  type ModelConfig,
  modelConfigSchema,
  type TrainConfig,
  trainConfigSchema,
} from './config.ts';
export { type LoadExperimentOptions, loadExperimentConfig, resolveConfigPath } from './load-experiment.ts';
export { createSlotOptimizer } from './optim/slot-optimizer.ts';
export type { OptimizerState, TrainOptimizer } from './optim/types.ts';
export { saveModel } from './save-model.ts';
export { type TrainDependencies, type TrainOptions, type TrainResult, train } from './train.ts';
export {
  SIGNAL_EXIT_CODES,
  type StopSignal,
  TrainingDivergedError,
  TrainingInterruptedError,
} from './training/errors.ts';
export type { EpochMetrics } from './training/metric-monitor.ts';
export { createProgressReporter, type ProgressReporter } from './training/progress.ts';
