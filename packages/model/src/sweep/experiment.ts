import type { Environment } from '@tfmlops/core';
import type { ExperimentConfig } from '../config.ts';
import { loadExperimentConfig } from '../load-experiment.ts';

/** Loads an experiment exactly as `pnpm train` does, so a sweep checks its parameters against the real schema. */
export function loadSweepExperiment(
  file: string,
  overrides: readonly string[],
  env: Environment,
): ExperimentConfig {
  return loadExperimentConfig({ file, overrides, env }).config;
}
