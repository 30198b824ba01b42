import { joinUri, type Logger, type Storage } from '@tfmlops/core';
import { formatConfigYaml, formatMetricsJsonl, normalizeEpochRow, RUN_FILES } from './run-files.ts';
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

export interface LocalTrackerOptions {
  storage: Storage;
  logger?: Logger;
  /** Clock, for tests. */
  now?: () => Date;
}

/**
 * The run directory as the record of a run: config.yaml at start, metrics.jsonl after every epoch, summary.json at
 * start (status `running`), on every summary change and at the end. Every write replaces the whole file atomically
 * through Storage (local disk or gs://), so a run killed at any moment leaves complete files with every finished
 * epoch. Storage errors propagate: without its local record a run is not worth continuing.
 */
export class LocalTracker implements Tracker {
  private run: RunInfo | undefined;
  private rows: EpochRow[] = [];
  private summary: RunSummary = {};
  private artifacts: RunArtifact[] = [];
  private marks: Record<string, TrackingMark> = { local: { status: 'ok' } };
  private status: RunStatus | 'running' = 'running';
  private startedAt = '';
  private finishedAt: string | undefined;
  private error: string | undefined;

  constructor(private readonly options: LocalTrackerOptions) {}

  async start(run: RunInfo): Promise<void> {
    this.run = run;
    this.startedAt = this.now().toISOString();
    this.rows = (run.history ?? []).map((row) => normalizeEpochRow(row));
    await this.options.storage.write(
      joinUri(run.runDir, RUN_FILES.config),
      formatConfigYaml(run.config, run.runId),
      { contentType: 'text/yaml' },
    );
    await this.writeMetrics();
    await this.writeSummary();
  }

  async logEpoch(row: EpochRow): Promise<void> {
    const normalized = normalizeEpochRow(row);
    // A re-logged epoch (e.g. after a resume) replaces the old row rather than duplicating it.
    this.rows = this.rows.filter((existing) => existing.epoch < normalized.epoch);
    this.rows.push(normalized);
    await this.writeMetrics();
  }

  async logSummary(summary: RunSummary): Promise<void> {
    this.summary = { ...this.summary, ...summary };
    await this.writeSummary();
  }

  async logArtifact(artifact: RunArtifact): Promise<void> {
    this.artifacts = [...this.artifacts.filter((a) => a.name !== artifact.name), artifact];
    await this.writeSummary();
  }

  /** Records another backend's state under `tracking.<name>` in summary.json (written with the next write). */
  setMark(name: string, mark: TrackingMark): void {
    this.marks = { ...this.marks, [name]: mark };
  }

  async finish(status: RunStatus, options: FinishOptions = {}): Promise<TrackingMark> {
    this.status = status;
    this.finishedAt = this.now().toISOString();
    this.error = options.error;
    await this.writeSummary();
    return this.marks.local ?? { status: 'ok' };
  }

  /** The summary.json object as it stands. */
  summaryDocument(): Record<string, unknown> {
    const run = this.requireRun();
    return {
      run_id: run.runId,
      experiment: run.experiment,
      status: this.status,
      ...(this.error ? { error: this.error } : {}),
      started_at: this.startedAt,
      ...(this.finishedAt ? { finished_at: this.finishedAt } : {}),
      ...(run.resumedFromEpoch !== undefined ? { resumed_from_epoch: run.resumedFromEpoch } : {}),
      ...this.summary,
      artifacts: this.artifacts,
      tracking: this.marks,
    };
  }

  private async writeMetrics(): Promise<void> {
    const run = this.requireRun();
    await this.options.storage.write(joinUri(run.runDir, RUN_FILES.metrics), formatMetricsJsonl(this.rows), {
      contentType: 'application/x-ndjson',
    });
  }

  private async writeSummary(): Promise<void> {
    const run = this.requireRun();
    await this.options.storage.write(
      joinUri(run.runDir, RUN_FILES.summary),
      `${JSON.stringify(this.summaryDocument(), null, 2)}\n`,
      { contentType: 'application/json' },
    );
  }

  private requireRun(): RunInfo {
    if (!this.run) throw new Error('LocalTracker: start() must be called first');
    return this.run;
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }
}
