import { newRunId, runDirFor } from '../tracking/run-dir.ts';

export interface RunLocation {
  /** Unique within the experiment; also the W&B run id. */
  runId: string;
  /** `<outputDir>/<experiment>/<timestamp>-<runId>`. */
  runDir: string;
}

/** Where a new run of an experiment goes: `runs/exp1/20261130-101500-k3x9a0qz/`. */
export function newRunLocation(outputDir: string, experiment: string, now = new Date()): RunLocation {
  const runId = newRunId();
  return { runId, runDir: runDirFor(outputDir, experiment, runId, now) };
}

/** The run id of an existing run directory: what follows the timestamp in its last path segment. */
export function runIdOf(runDir: string): string {
  const name =
    runDir
      .replace(/[\\/]+$/, '')
      .split(/[\\/]/)
      .pop() ?? runDir;
  return /^\d{8}-\d{6}-(.+)$/.exec(name)?.[1] ?? name;
}
