import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  ConfigError,
  type Environment,
  joinUri,
  type Logger,
  resolveConfigPath,
  type Storage,
} from '@tfmlops/core';
import { LATEST_POINTER_FILE } from './bundle/format.ts';
import type { ExperimentConfig } from './config.ts';
import { loadExperimentConfig } from './load-experiment.ts';

/** A required experiment that has no model bundle yet, in the order they must be trained (bases first). */
export interface MissingRequirement {
  file: string;
  config: ExperimentConfig;
  /** The pointer that was looked for. */
  latest: string;
}

/**
 * Walks `requires` (recursively) and lists the experiments whose bundle pointer `<export.uri>/<name>/latest.json` is
 * missing, bases before the experiments that need them. A required file is looked up next to the requiring file,
 * then as a bare name in configs/. A cycle is a ConfigError. Nothing is trained here; the caller decides.
 */
export async function missingRequirements(
  config: ExperimentConfig,
  file: string,
  options: { storage: Storage; env: Environment; logger: Logger },
  chain: string[] = [],
): Promise<MissingRequirement[]> {
  const missing: MissingRequirement[] = [];
  const here = resolve(file);
  for (const required of config.requires) {
    const nextToIt = resolve(dirname(here), required);
    const requiredFile = existsSync(nextToIt) ? nextToIt : resolve(resolveConfigPath(required));
    if ([...chain, here].includes(requiredFile)) {
      throw new ConfigError(`requires cycle: ${[...chain, here, requiredFile].join(' -> ')}`, {
        hint: 'an experiment cannot require itself, directly or through others',
      });
    }
    const needed = loadExperimentConfig({ file: requiredFile, env: options.env }).config;
    const latest = joinUri(joinUri(needed.export.uri, needed.name), LATEST_POINTER_FILE);
    if (await options.storage.exists(latest)) {
      options.logger.info({ experiment: needed.name, bundle: latest }, 'required experiment has its bundle');
      continue;
    }
    missing.push(...(await missingRequirements(needed, requiredFile, options, [...chain, here])));
    if (!missing.some((entry) => entry.file === requiredFile)) {
      missing.push({ file: requiredFile, config: needed, latest });
    }
  }
  return missing;
}
