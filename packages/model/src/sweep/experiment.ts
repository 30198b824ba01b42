import { type Environment, loadConfig } from '@tfmlops/core';
import { type ExperimentConfig, experimentConfigSchema } from '../config.ts';

/** Loads an experiment exactly as `pnpm train` does, so a sweep checks its parameters against the real schema. */
export function loadSweepExperiment(
  file: string,
  overrides: readonly string[],
  env: Environment,
): ExperimentConfig {
  return loadConfig({ schema: experimentConfigSchema, file, overrides, env }).config;
}
