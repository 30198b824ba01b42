import { joinUri, type Storage } from '@tfmlops/core';
import { stringify } from 'yaml';

/**
 * Seam: the tracking module (packages/model/src/tracking) brings the `Tracker` interface with a local backend
 * (config.yaml, metrics.jsonl, summary.json) and a W&B backend. Until it lands, the loop writes the local files
 * through this minimal tracker with the same method names, so switching is an import change.
 */
export interface EpochRow {
  epoch: number;
  loss: number | null;
  accuracy: number | null;
  val_loss: number | null;
  val_accuracy: number | null;
  lr: number | null;
  images_per_second: number | null;
  seconds: number | null;
  [metric: string]: number | null;
}

export type RunStatus = 'finished' | 'failed' | 'interrupted';

export interface RunInfo {
  experiment: string;
  runId: string;
  runDir: string;
  config: Record<string, unknown>;
  history?: EpochRow[];
  resumedFromEpoch?: number;
}

export interface Tracker {
  start(run: RunInfo): Promise<void>;
  logEpoch(row: EpochRow): Promise<void>;
  logSummary(summary: Record<string, unknown>): Promise<void>;
  finish(status: RunStatus, options?: { error?: string }): Promise<void>;
}

/**
 * The run directory's own record: `config.yaml` (the resolved config), `metrics.jsonl` (one row per epoch; rewritten
 * whole each epoch, so a resumed run's file holds each epoch once) and `summary.json`, all written atomically.
 */
export function createLocalTracker(storage: Storage): Tracker {
  let runDir = '';
  let rows: EpochRow[] = [];
  let summary: Record<string, unknown> = {};
  const writeSummary = () =>
    storage.write(joinUri(runDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const writeMetrics = () =>
    storage.write(joinUri(runDir, 'metrics.jsonl'), rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
  return {
    async start(run) {
      runDir = run.runDir;
      rows = [...(run.history ?? [])];
      await storage.write(joinUri(runDir, 'config.yaml'), stringify(run.config));
      await writeMetrics();
      const previous = await storage
        .read(joinUri(runDir, 'summary.json'))
        .then((data) => JSON.parse(data.toString('utf8')) as Record<string, unknown>)
        .catch(() => ({}));
      // A resumed run keeps what earlier sessions recorded, but not how the last one ended.
      const { error: _error, status: _status, ...earlier } = previous as Record<string, unknown>;
      summary = { ...earlier, experiment: run.experiment, run_id: run.runId, status: 'running' };
      if (run.resumedFromEpoch !== undefined) summary.resumed_from_epoch = run.resumedFromEpoch;
      await writeSummary();
    },
    async logEpoch(row) {
      rows.push(row);
      await writeMetrics();
    },
    async logSummary(values) {
      summary = { ...summary, ...values };
      await writeSummary();
    },
    async finish(status, options = {}) {
      summary = { ...summary, status };
      if (options.error) summary.error = options.error;
      await writeSummary();
    },
  };
}
