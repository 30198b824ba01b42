import type { Logger, Storage } from '@tfmlops/core';
import type { WandbResolution } from './config.ts';
import { LocalTracker } from './local-tracker.ts';
import { readRunHistory } from './run-files.ts';
import type {
  EpochRow,
  FinishOptions,
  RunArtifact,
  RunInfo,
  RunStatus,
  RunSummary,
  Tracker,
  TrackingMark,
} from './types.ts';
import { WandbTracker } from './wandb/wandb-tracker.ts';

export interface RunTrackerOptions {
  storage: Storage;
  logger: Logger;
  /** From `resolveWandb(config.tracking, env)`, made at the entry point with its environment. */
  wandb: WandbResolution;
  /** Clock, for tests. */
  now?: () => Date;
}

/**
 * The tracker a training run uses: the local run directory always, plus W&B when resolved `online`. It fans every
 * call out, never lets W&B delay or fail a call, and at `finish` records each backend's state under `tracking` in
 * summary.json. On a resume (`resumedFromEpoch`) it keeps metrics.jsonl's rows up to that epoch and replays them to
 * W&B, so the W&B history is complete too.
 */
export class RunTracker implements Tracker {
  readonly local: LocalTracker;
  readonly wandb: WandbTracker | undefined;

  constructor(private readonly options: RunTrackerOptions) {
    this.local = new LocalTracker({
      storage: options.storage,
      logger: options.logger,
      ...(options.now ? { now: options.now } : {}),
    });
    const { wandb } = options;
    if (wandb.state === 'online')
      this.wandb = new WandbTracker({ settings: wandb.settings, logger: options.logger });
  }

  async start(run: RunInfo): Promise<void> {
    const { wandb, logger } = this.options;
    let info = run;
    if (run.resumedFromEpoch !== undefined && run.history === undefined) {
      info = {
        ...run,
        history: await readRunHistory(this.options.storage, run.runDir, { upToEpoch: run.resumedFromEpoch }),
      };
    }
    if (wandb.state !== 'online') {
      this.local.setMark('wandb', {
        status: wandb.state,
        reason: wandb.why,
        ...(wandb.state === 'offline' ? { project: wandb.project, run_id: wandb.runId ?? run.runId } : {}),
      });
    }
    logger.info({ runDir: run.runDir, wandb: wandb.state, why: wandb.why }, 'tracking run');
    await this.local.start(info);
    await this.wandb?.start(info);
  }

  async logEpoch(row: EpochRow): Promise<void> {
    await this.local.logEpoch(row);
    await this.wandb?.logEpoch(row);
  }

  async logSummary(summary: RunSummary): Promise<void> {
    await this.local.logSummary(summary);
    await this.wandb?.logSummary(summary);
  }

  async logArtifact(artifact: RunArtifact): Promise<void> {
    await this.local.logArtifact(artifact);
    await this.wandb?.logArtifact(artifact);
  }

  /** Finishes W&B first (bounded), then writes the final summary.json with every backend's mark. */
  async finish(status: RunStatus, options: FinishOptions = {}): Promise<TrackingMark> {
    if (this.wandb) this.local.setMark('wandb', await this.wandb.finish(status, options));
    await this.local.finish(status, options);
    const marks = this.local.summaryDocument().tracking as Record<string, TrackingMark>;
    const failed = Object.entries(marks).filter(([, mark]) => mark.status === 'failed');
    return failed.length === 0
      ? { status: 'ok', backends: marks }
      : {
          status: 'failed',
          error: failed.map(([name, mark]) => `${name}: ${mark.error}`).join('; '),
          backends: marks,
        };
  }
}
