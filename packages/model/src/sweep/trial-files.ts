import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EPOCH_ROW_KEYS } from '../tracking/run-files.ts';

/** What `pnpm train` writes into a run directory (see the training issue: metrics.jsonl lines, summary.json). */
export const METRICS_FILE = 'metrics.jsonl';
export const SUMMARY_FILE = 'summary.json';

/** Per-epoch keys of metrics.jsonl: metrics a sweep can optimise and hyperband can judge every epoch. */
export const EPOCH_METRICS: readonly string[] = EPOCH_ROW_KEYS.filter((key) => key !== 'epoch');
/** Numeric keys of summary.json: known only when a trial ends, so they can be optimised but not early-terminated on. */
export const SUMMARY_METRICS = [
  'test_accuracy',
  'test_loss',
  'test_macro_f1',
  'test_ece',
  'train_images_per_second',
  'wall_seconds',
  'epochs',
] as const;

export interface RunFiles {
  runDir: string;
  epochs: Array<Record<string, unknown>>;
  summary: Record<string, unknown> | undefined;
}

/**
 * Finds the run directory `pnpm train` made under a trial's output root (`<root>/<experiment>/<timestamp>-<id>/`):
 * the newest directory holding metrics.jsonl or config.yaml, at most three levels down. Timestamped names sort in
 * time order, so a restarted trial's fresh run wins over the interrupted one.
 */
export function findRunDir(root: string): string | undefined {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 3 || !existsSync(dir)) return;
    const entries = readdirSync(dir, { withFileTypes: true });
    if (entries.some((e) => e.isFile() && (e.name === METRICS_FILE || e.name === 'config.yaml')))
      found.push(dir);
    for (const entry of entries)
      if (entry.isDirectory() && entry.name !== 'checkpoints') walk(join(dir, entry.name), depth + 1);
  };
  walk(root, 0);
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).at(-1);
}

/**
 * Reads a run's metrics.jsonl (complete lines only: the last one may still be being written) and summary.json (absent
 * until the run ends, and after an early stop).
 */
export function readRunFiles(runDir: string): RunFiles {
  const epochs: Array<Record<string, unknown>> = [];
  const metricsPath = join(runDir, METRICS_FILE);
  if (existsSync(metricsPath)) {
    const text = readFileSync(metricsPath, 'utf8');
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    for (const line of complete.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const parsed: unknown = JSON.parse(line);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
          epochs.push(parsed as Record<string, unknown>);
      } catch {
        // A torn line from a killed writer: the lines before it still count.
      }
    }
  }
  let summary: Record<string, unknown> | undefined;
  const summaryPath = join(runDir, SUMMARY_FILE);
  if (existsSync(summaryPath)) {
    try {
      summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as Record<string, unknown>;
    } catch {
      summary = undefined;
    }
  }
  return { runDir, epochs, summary };
}

/** The metric at each epoch that logged it (non-numbers skipped, as W&B filters invalid history values). */
export function metricHistory(files: RunFiles, metric: string): number[] {
  return files.epochs
    .map((epoch) => epoch[metric])
    .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
}

export function summaryValue(files: RunFiles, metric: string): number | undefined {
  const value = files.summary?.[metric];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Size of metrics.jsonl, to notice growth cheaply between polls. */
export function metricsSize(runDir: string | undefined): number {
  if (!runDir) return 0;
  try {
    return statSync(join(runDir, METRICS_FILE)).size;
  } catch {
    return 0;
  }
}

/** Whether a run has a checkpoint to resume from (`pnpm train --resume <run-dir>`). */
export function hasCheckpoint(runDir: string | undefined): boolean {
  if (!runDir) return false;
  const dir = join(runDir, 'checkpoints');
  return existsSync(dir) && readdirSync(dir).length > 0;
}
