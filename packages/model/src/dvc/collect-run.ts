import { joinUri, MlopsError, type Storage } from '@tfmlops/core';

/** What a finished run directory holds that DVC tracks as metrics and plots, by file name. */
const METRICS_FILES = ['summary.json', 'evaluation.json'] as const;
const COPIED_FILES = ['config.yaml', ...METRICS_FILES] as const;
const PICTURES = /^[^/]+\.png$/;

export interface CollectedRun {
  runUri: string;
  files: string[];
}

/**
 * Copies the newest finished run of an experiment (`<runs>/<run>/` with a summary.json) to a fixed directory, the
 * shape DVC wants: run directories are named by time and id, DVC's `metrics` and `plots` by fixed paths. Copies
 * summary.json, evaluation.json, config.yaml and the evaluation pictures, and writes metrics.jsonl as metrics.csv
 * (DVC plots read CSV, JSON, YAML and TSV, not JSON Lines). Files in `out` from an earlier run are removed first.
 */
export async function collectLatestRun(storage: Storage, runs: string, out: string): Promise<CollectedRun> {
  const runUri = await latestFinishedRun(storage, runs);
  for (const stale of await storage.list(out)) await storage.delete(stale.uri);
  const files: string[] = [];
  const entries = (await storage.list(runUri)).map((e) => e.relativePath);
  for (const name of entries.filter(
    (n) => (COPIED_FILES as readonly string[]).includes(n) || PICTURES.test(n),
  )) {
    await storage.write(joinUri(out, name), await storage.read(joinUri(runUri, name)));
    files.push(name);
  }
  if (entries.includes('metrics.jsonl')) {
    const jsonl = (await storage.read(joinUri(runUri, 'metrics.jsonl'))).toString('utf8');
    await storage.write(joinUri(out, 'metrics.csv'), metricsCsv(jsonl), { contentType: 'text/csv' });
    files.push('metrics.csv');
  }
  return { runUri, files: files.sort() };
}

/** The newest run directory under `runs` (names start with a UTC timestamp) that has a summary.json. */
async function latestFinishedRun(storage: Storage, runs: string): Promise<string> {
  const finished = (await storage.list(runs))
    .map((e) => e.relativePath.split('/'))
    .filter((parts) => parts.length === 2 && parts[1] === 'summary.json')
    .map((parts) => parts[0]!)
    .sort();
  const newest = finished.at(-1);
  if (!newest) {
    throw new MlopsError('RUN_NOT_FOUND', `no finished run under ${runs} (no <run>/summary.json)`, {
      hint: 'train first: pnpm train --config configs/<experiment>.yaml (runs land in <train.outputDir>/<name>/)',
    });
  }
  return joinUri(runs, newest);
}

/** metrics.jsonl rows as CSV with one column per key (in first-seen order); null and missing cells stay empty. */
export function metricsCsv(jsonl: string): string {
  const rows = jsonl
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, number | null>);
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cell = (value: unknown) => (value === null || value === undefined ? '' : String(value));
  return `${[columns.join(','), ...rows.map((row) => columns.map((c) => cell(row[c])).join(','))].join('\n')}\n`;
}
