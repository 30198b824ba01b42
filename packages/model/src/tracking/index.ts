export {
  DEFAULT_WANDB_BASE_URL,
  DEFAULT_WANDB_PROJECT,
  type Environment,
  resolveWandb,
  type TrackingConfig,
  type TrackingConfigInput,
  trackingConfigSchema,
  type WandbResolution,
  type WandbSettings,
} from './config.ts';
export { TrackingError } from './errors.ts';
export { LocalTracker, type LocalTrackerOptions } from './local-tracker.ts';
export { newRunId, runDirFor } from './run-dir.ts';
export {
  EPOCH_ROW_KEYS,
  normalizeEpochRow,
  parseMetricsJsonl,
  RUN_FILES,
  readRunHistory,
} from './run-files.ts';
export { RunTracker, type RunTrackerOptions } from './run-tracker.ts';
export { type SyncOptions, type SyncResult, syncRun } from './sync.ts';
export type {
  EpochRow,
  FinishOptions,
  RunArtifact,
  RunInfo,
  RunStatus,
  RunSummary,
  Tracker,
  TrackingMark,
} from './types.ts';
export { WandbTracker, type WandbTrackerOptions } from './wandb/wandb-tracker.ts';
