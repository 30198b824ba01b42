import { joinUri, type Storage } from '@tfmlops/core';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { EpochRow } from './types.ts';

/** The files of a run directory that tracking owns. */
export const RUN_FILES = {
  config: 'config.yaml',
  metrics: 'metrics.jsonl',
  summary: 'summary.json',
} as const;

/** The keys every metrics.jsonl row has, in this order (extra metrics follow). */
export const EPOCH_ROW_KEYS = [
  'epoch',
  'loss',
  'accuracy',
  'val_loss',
  'val_accuracy',
  'lr',
  'images_per_second',
  'seconds',
] as const;

/**
 * A row as written: required keys first, every value a finite number or null (JSON has no NaN/Infinity), `epoch` a
 * positive integer. Throws a RangeError naming the bad key, so a training-loop bug shows where it is.
 */
export function normalizeEpochRow(row: Partial<EpochRow> & { epoch: number }): EpochRow {
  if (!Number.isInteger(row.epoch) || row.epoch < 1) {
    throw new RangeError(`metrics row: epoch must be a positive integer, got ${String(row.epoch)}`);
  }
  const out: Record<string, number | null> = {};
  for (const key of EPOCH_ROW_KEYS) out[key] = finiteOrNull(row[key], key);
  for (const [key, value] of Object.entries(row)) {
    if (!(key in out)) out[key] = finiteOrNull(value, key);
  }
  return out as EpochRow;
}

function finiteOrNull(value: unknown, key: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number')
    throw new RangeError(`metrics row: ${key} must be a number or null, got ${typeof value}`);
  return Number.isFinite(value) ? value : null;
}

export function formatMetricsJsonl(rows: readonly EpochRow[]): string {
  return rows.map((row) => `${JSON.stringify(row)}\n`).join('');
}

/**
 * Parses metrics.jsonl. A line that is not a JSON object with an integer epoch is skipped and reported (a run killed
 * mid-write on a file system without atomic replace could leave one); everything before and after it is kept.
 */
export function parseMetricsJsonl(text: string): { rows: EpochRow[]; skipped: number[] } {
  const rows: EpochRow[] = [];
  const skipped: number[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      const value = JSON.parse(line) as unknown;
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw new Error('not an object');
      rows.push(normalizeEpochRow(value as EpochRow));
    } catch {
      skipped.push(index + 1);
    }
  });
  return { rows, skipped };
}

/** The rows of a run's metrics.jsonl (none when the file does not exist), optionally only up to an epoch. */
export async function readRunHistory(
  storage: Storage,
  runDir: string,
  options: { upToEpoch?: number } = {},
): Promise<EpochRow[]> {
  const uri = joinUri(runDir, RUN_FILES.metrics);
  if (!(await storage.exists(uri))) return [];
  const { rows } = parseMetricsJsonl((await storage.read(uri)).toString('utf8'));
  const limit = options.upToEpoch;
  return limit === undefined ? rows : rows.filter((row) => row.epoch <= limit);
}

export function formatConfigYaml(config: Record<string, unknown>, runId: string): string {
  return `# Resolved experiment config of run ${runId} (defaults, inherited files and overrides applied).\n${stringifyYaml(config)}`;
}

export function parseConfigYaml(text: string): Record<string, unknown> {
  const value = parseYaml(text) as unknown;
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
