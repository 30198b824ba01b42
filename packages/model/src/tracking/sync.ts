import { joinUri, type Logger, type Storage } from '@tfmlops/core';
import type { WandbSettings } from './config.ts';
import { TrackingError } from './errors.ts';
import { parseConfigYaml, parseMetricsJsonl, RUN_FILES } from './run-files.ts';
import type { RunArtifact, RunStatus, TrackingMark } from './types.ts';
import { WandbTracker } from './wandb/wandb-tracker.ts';

export interface SyncOptions {
  storage: Storage;
  logger: Logger;
  /** From `resolveWandb(...)` in state `online`; its `runId` (WANDB_RUN_ID) wins over the run's own id. */
  settings: WandbSettings;
  /** Clock, for tests. */
  now?: () => Date;
}

export interface SyncResult {
  mark: TrackingMark;
  epochs: number;
}

const RUN_KEYS_NOT_IN_SUMMARY = new Set(['tracking', 'artifacts', 'run_id', 'experiment', 'status']);

/**
 * Replays a local run directory (config.yaml, metrics.jsonl, summary.json) into W&B, the way `wandb sync` uploads an
 * offline run: same run id (so a run that half-reached W&B is completed rather than duplicated), the resolved
 * config, every epoch row in order, and the summary. On success summary.json records `tracking.wandb.status:
 * synced`; on failure it is left as it was and a TrackingError says what went wrong.
 */
export async function syncRun(runDir: string, options: SyncOptions): Promise<SyncResult> {
  const { storage, logger } = options;
  const summaryUri = joinUri(runDir, RUN_FILES.summary);
  if (!(await storage.exists(summaryUri))) {
    throw new TrackingError(
      'TRACKING_NOT_A_RUN',
      `${runDir} has no ${RUN_FILES.summary}: it is not a run directory`,
      {
        hint: 'pass a directory that `pnpm train` created, e.g. runs/exp1/20260130-101500-k3x9a0qz',
      },
    );
  }
  let summary: Record<string, unknown>;
  try {
    summary = JSON.parse((await storage.read(summaryUri)).toString('utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw new TrackingError('TRACKING_BAD_RUN', `${summaryUri} is not valid JSON`, { cause });
  }
  const configUri = joinUri(runDir, RUN_FILES.config);
  const config = (await storage.exists(configUri))
    ? parseConfigYaml((await storage.read(configUri)).toString('utf8'))
    : {};
  const metricsUri = joinUri(runDir, RUN_FILES.metrics);
  const { rows, skipped } = (await storage.exists(metricsUri))
    ? parseMetricsJsonl((await storage.read(metricsUri)).toString('utf8'))
    : { rows: [], skipped: [] };
  if (skipped.length > 0)
    logger.warn({ lines: skipped, file: metricsUri }, 'metrics.jsonl lines that do not parse are skipped');

  const wandbMark = (summary.tracking as Record<string, TrackingMark> | undefined)?.wandb;
  const runId =
    options.settings.runId ??
    stringOr(wandbMark?.run_id) ??
    stringOr(summary.run_id) ??
    runDir
      .replace(/\/+$/, '')
      .split('/')
      .pop()!
      .replace(/[^A-Za-z0-9_-]/g, '-')
      .slice(-64);
  const experiment = stringOr(summary.experiment) ?? 'run';
  const tracker = new WandbTracker({ settings: { ...options.settings, runId }, logger });
  await tracker.start({ experiment, runId, runDir, config, history: rows });
  const runSummary: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(summary))
    if (!RUN_KEYS_NOT_IN_SUMMARY.has(key)) runSummary[key] = value;
  await tracker.logSummary(runSummary);
  for (const artifact of (summary.artifacts as RunArtifact[] | undefined) ?? [])
    await tracker.logArtifact(artifact);
  const status = ['finished', 'failed', 'interrupted'].includes(String(summary.status))
    ? (summary.status as RunStatus)
    : 'interrupted';
  // A sync has no training to protect: wait for the run to start as long as the settings allow, then flush.
  await tracker.whenSettled();
  const mark = await tracker.finish(status);
  if (mark.status !== 'ok') {
    throw new TrackingError('TRACKING_SYNC_FAILED', `syncing ${runDir} to W&B failed: ${mark.error}`, {
      hint: `check WANDB_API_KEY and WANDB_BASE_URL (${options.settings.baseUrl}); the run directory is unchanged, so the sync can be repeated`,
    });
  }
  const synced: TrackingMark = {
    ...mark,
    status: 'synced',
    synced_at: (options.now?.() ?? new Date()).toISOString(),
  };
  const tracking = { ...(summary.tracking as Record<string, unknown> | undefined), wandb: synced };
  await storage.write(summaryUri, `${JSON.stringify({ ...summary, tracking }, null, 2)}\n`, {
    contentType: 'application/json',
  });
  logger.info({ url: mark.url, epochs: rows.length }, 'run synced to W&B');
  return { mark: synced, epochs: rows.length };
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
