import { randomBytes } from 'node:crypto';
import { joinUri } from '@tfmlops/core';

/** A short random run id: 8 characters of [a-z0-9] (about 2.8e12 values), valid as a W&B run id too. */
export function newRunId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(8)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

/**
 * `<outputDir>/<experiment>/<UTC timestamp>-<runId>`, e.g. `runs/exp1/20260130-101500-k3x9a0qz`: sorted by time
 * within an experiment, unique by id.
 */
export function runDirFor(
  outputDir: string,
  experiment: string,
  runId: string,
  now: Date = new Date(),
): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return joinUri(joinUri(outputDir, experiment), `${stamp}-${runId}`);
}
