import { joinUri, type Storage } from '@tfmlops/core';
import { stringify } from 'yaml';
import type {
  EpochRow,
  RunArtifact,
  RunStatus,
  RunSummary,
  Tracker,
  TrackingMark,
} from '../tracking/types.ts';

/**
 * The run directory's own record: `config.yaml` (the resolved config), `metrics.jsonl` (one row per epoch; rewritten
 * whole each epoch, so a resumed run's file holds each epoch once) and `summary.json`, all written atomically.
 *
 * Seam: the tracking module's local backend (with W&B alongside) replaces this when it lands; the interface is its.
 */
export function createLocalTracker(storage: Storage): Tracker {
  let runDir = '';
  let rows: EpochRow[] = [];
  let summary: Record<string, unknown> = {};
  const artifacts: RunArtifact[] = [];
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
        .catch((): Record<string, unknown> => ({}));
      // A resumed run keeps what earlier sessions recorded, but not how the last one ended.
      const { error: _error, status: _status, ...earlier } = previous;
      summary = { ...earlier, experiment: run.experiment, run_id: run.runId, status: 'running' };
      if (run.resumedFromEpoch !== undefined) summary.resumed_from_epoch = run.resumedFromEpoch;
      await writeSummary();
    },
    async logEpoch(row) {
      rows.push(row);
      await writeMetrics();
    },
    async logSummary(values: RunSummary) {
      summary = { ...summary, ...values };
      await writeSummary();
    },
    async logArtifact(artifact) {
      artifacts.push(artifact);
      summary = { ...summary, artifacts: [...artifacts] };
      await writeSummary();
    },
    async finish(status: RunStatus, options = {}): Promise<TrackingMark> {
      summary = { ...summary, status };
      if (options.error) summary.error = options.error;
      await writeSummary();
      return { status: 'ok' };
    },
  };
}
