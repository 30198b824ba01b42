import { basename, extname } from 'node:path';
import { ConfigError, type Environment, loadConfig, resolveConfigPath } from '@tfmlops/core';
import { EXPERIMENT_NAME, type ExperimentConfig, experimentConfigSchema } from './config.ts';

export interface LoadExperimentOptions {
  /** `--config`: a path, or a bare file name (`exp1.yaml`, `exp1`) looked up in `configsDir`. */
  file: string;
  /** `key.path=value` overrides, applied after the files. */
  overrides?: readonly string[];
  env?: Environment;
  /** Where bare names are looked up; default `configs` (relative to the current directory, the repo root). */
  configsDir?: string;
}

/**
 * Loads an experiment the way `pnpm train` does: resolves the file (`exp1.yaml` means `configs/exp1.yaml` when there
 * is no such file here), reads it with its `extends` chain and the overrides, checks it against the schema, and
 * names the experiment after the file when the config does not (`exp1.yaml` -> `exp1`).
 */
export function loadExperimentConfig(options: LoadExperimentOptions): {
  config: ExperimentConfig;
  file: string;
  files: string[];
} {
  const file = resolveConfigPath(options.file, options.configsDir);
  const { config, files } = loadConfig({
    schema: experimentConfigSchema,
    file,
    overrides: options.overrides,
    env: options.env,
  });
  const name = config.name ?? basename(file, extname(file));
  if (!EXPERIMENT_NAME.test(name)) {
    throw new ConfigError(
      `the experiment name '${name}' (from the file name ${file}) is not a valid directory name`,
      {
        hint: 'set `name: my-experiment` in the file (letters, digits, ".", "_" or "-")',
      },
    );
  }
  return { config: { ...config, name }, file, files };
}

/** A path that exists as given, else a bare name inside `configsDir` (with `.yaml`/`.yml` added when missing). */
