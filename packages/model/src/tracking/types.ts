/**
 * One line of metrics.jsonl: the metrics of one finished epoch. Accuracies are fractions in [0, 1]; a metric that was
 * not measured (or was not finite) is null. Backends may add keys (e.g. `val_top5`), always numbers or null.
 */
export interface EpochRow {
  /** 1-based epoch number. */
  epoch: number;
  /** Mean training loss over the epoch. */
  loss: number | null;
  /** Training accuracy over the epoch (on the augmented batches the optimiser saw). */
  accuracy: number | null;
  val_loss: number | null;
  val_accuracy: number | null;
  /** Learning rate at the end of the epoch. */
  lr: number | null;
  /** Training images per second over the epoch (data loading included). */
  images_per_second: number | null;
  /** Wall seconds of the epoch's training pass. */
  seconds: number | null;
  [metric: string]: number | null;
}

/** How a run ended. */
export type RunStatus = 'finished' | 'failed' | 'interrupted';

/**
 * The run's outcome for summary.json. The keys named here are what every run records (accuracies as fractions in
 * [0, 1]); anything else JSON-safe may be added (e.g. `val_accuracy`, `quantized`).
 */
export interface RunSummary {
  test_accuracy?: number;
  train_images_per_second?: number;
  backend?: string;
  epochs?: number;
  wall_seconds?: number;
  model_uri?: string;
  dataset_version?: string;
  git_commit?: string;
  [key: string]: unknown;
}

/** A file or directory the run produced, listed in summary.json (and in the W&B summary as `artifact/<name>`). */
export interface RunArtifact {
  name: string;
  uri: string;
  /** e.g. `model`, `checkpoint`, `evaluation`. */
  type: string;
}

/** What a tracker is told when a run starts. */
export interface RunInfo {
  /** Experiment name (the config's `name`, e.g. `exp1`). */
  experiment: string;
  /** Run id, unique within the experiment; the run directory ends with it and W&B uses it as the run id. */
  runId: string;
  /** The run directory (local path or gs:// prefix) holding config.yaml, metrics.jsonl and summary.json. */
  runDir: string;
  /** The resolved experiment config (after defaults, file inheritance and overrides): plain JSON-safe data. */
  config: Record<string, unknown>;
  /** Epoch rows already logged before a resume, replayed to backends that keep their own history. */
  history?: EpochRow[];
  /** Set when this run continues an interrupted one from a checkpoint of this epoch. */
  resumedFromEpoch?: number;
}

/** One backend's state, as summary.json records it under `tracking.<backend>`. */
export interface TrackingMark {
  /** ok: everything arrived; failed: see `error`; off: not enabled (see `reason`); offline: kept locally, sync later. */
  status: 'ok' | 'failed' | 'off' | 'offline' | 'synced';
  reason?: string;
  error?: string;
  [detail: string]: unknown;
}

export interface FinishOptions {
  /** Process exit code to report (W&B shows it); default 0 when finished, 1 otherwise. */
  exitCode?: number;
  /** Why a failed run failed, for summary.json. */
  error?: string;
  /** Longest wait for remote backends to flush; default the backend's own (e.g. `tracking.timeoutSeconds`). */
  timeoutMs?: number;
}

/**
 * Where a run's config, per-epoch metrics and outcome go. Calls are made in order: start, logEpoch per epoch,
 * logSummary / logArtifact any time, finish once. No method throws for a remote backend's failure, and none waits
 * on the network except `finish` (bounded): tracking never stops or slows training.
 */
export interface Tracker {
  start(run: RunInfo): Promise<void>;
  logEpoch(row: EpochRow): Promise<void>;
  /** Merges keys into the run's summary (later calls win per key). */
  logSummary(summary: RunSummary): Promise<void>;
  logArtifact(artifact: RunArtifact): Promise<void>;
  /** Ends the run; returns this backend's mark for summary.json. */
  finish(status: RunStatus, options?: FinishOptions): Promise<TrackingMark>;
}
