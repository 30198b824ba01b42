import type { EarlyStoppingConfig, MonitoredMetric } from '../train-config.ts';

/** Metrics of one finished epoch, as metrics.jsonl records them (accuracies are fractions in [0, 1]). */
export interface EpochMetrics {
  epoch: number;
  /** Mean training loss over the epoch's steps (with the label smoothing used for training). */
  loss: number | null;
  /**
   * Training accuracy after the epoch, on the first training images in dataset order (as many as the validation
   * split holds, at least 1000), unaugmented and in inference mode: comparable with val_accuracy, and measured the
   * same way whether the epoch trained in one process or data-parallel.
   */
  accuracy: number | null;
  /** Mean loss over the validation split (same loss as training), null when the split is empty. */
  val_loss: number | null;
  val_accuracy: number | null;
  /** Learning rate of the epoch's last step. */
  lr: number;
  /** Training images per second over the epoch's steps (data loading included, validation excluded). */
  images_per_second: number | null;
  /** Wall time of the epoch: steps and validation. */
  seconds: number;
}

export type MonitorMode = 'min' | 'max';

/** The state a monitor carries across epochs; saved in checkpoints. */
export interface MonitorState {
  best: number | null;
  bestEpoch: number | null;
  epochsWithoutImprovement: number;
}

/** Losses are better lower, accuracies higher. */
export function modeFor(metric: MonitoredMetric, mode: 'auto' | MonitorMode = 'auto'): MonitorMode {
  if (mode !== 'auto') return mode;
  return metric.endsWith('loss') ? 'min' : 'max';
}

/**
 * Follows one metric across epochs: whether the newest value improved on the best by more than `minDelta`, and for
 * how many epochs it has not. Backs both "keep the best checkpoint" and early stopping.
 */
export class MetricMonitor {
  private state: MonitorState = { best: null, bestEpoch: null, epochsWithoutImprovement: 0 };

  constructor(
    readonly metric: MonitoredMetric,
    readonly mode: MonitorMode,
    private readonly minDelta = 0,
  ) {}

  /** Records an epoch's value; true when it is the new best. A NaN never improves. */
  observe(metrics: EpochMetrics): boolean {
    const value = metrics[this.metric];
    const { best } = this.state;
    const improved =
      value !== null &&
      Number.isFinite(value) &&
      (best === null || (this.mode === 'min' ? value < best - this.minDelta : value > best + this.minDelta));
    this.state = improved
      ? { best: value, bestEpoch: metrics.epoch, epochsWithoutImprovement: 0 }
      : { ...this.state, epochsWithoutImprovement: this.state.epochsWithoutImprovement + 1 };
    return improved;
  }

  get best(): number | null {
    return this.state.best;
  }

  get bestEpoch(): number | null {
    return this.state.bestEpoch;
  }

  get epochsWithoutImprovement(): number {
    return this.state.epochsWithoutImprovement;
  }

  save(): MonitorState {
    return { ...this.state };
  }

  restore(state: MonitorState): void {
    this.state = { ...state };
  }
}

/** Early stopping: stop once the metric has not improved for `patience` epochs. */
export class EarlyStopping {
  readonly monitor: MetricMonitor;

  constructor(private readonly config: NonNullable<EarlyStoppingConfig>) {
    this.monitor = new MetricMonitor(config.metric, modeFor(config.metric, config.mode), config.minDelta);
  }

  /** Records the epoch; true when training should stop after it. */
  update(metrics: EpochMetrics): boolean {
    this.monitor.observe(metrics);
    return this.monitor.epochsWithoutImprovement >= this.config.patience;
  }
}
