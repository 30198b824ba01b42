import { randomBytes } from 'node:crypto';
import { joinUri } from '@tfmlops/core';

export interface RunLocation {
  /** `<timestamp>-<id>`: unique within the experiment, sortable by start time. */
  runId: string;
  /** `<outputDir>/<experiment>/<runId>`. */
  runDir: string;
}

/** Where a new run of an experiment goes: `runs/exp1/20261130-101500-3fa9c2/`. */
export function newRunLocation(outputDir: string, experiment: string, now = new Date()): RunLocation {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const runId = `${stamp}-${randomBytes(3).toString('hex')}`;
  return { runId, runDir: joinUri(joinUri(outputDir, experiment), runId) };
}

/** The run id of an existing run directory (its last path segment). */
export function runIdOf(runDir: string): string {
  return (
    runDir
      .replace(/[\\/]+$/, '')
      .split(/[\\/]/)
      .pop() ?? runDir
  );
}
