import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import type { ConfigObject } from './deep-merge.ts';
import { formatIssues } from './format-issues.ts';
import { type Environment, interpolateEnv } from './interpolate.ts';
import { displayPath, loadYamlWithExtends } from './load-yaml.ts';
import { applyOverride, parseOverride } from './overrides.ts';
import { Provenance } from './provenance.ts';

export interface LoadConfigOptions<S extends z.ZodType> {
  /** The composed schema of every section the command uses (see `composeConfigSchema`). */
  schema: S;
  /** Path of the experiment YAML; omitted means schema defaults plus overrides. */
  file?: string;
  /** `key.path=value` arguments from the command line, applied after the files. */
  overrides?: readonly string[];
  /** The environment for `${VAR:-default}`; the entry point passes `process.env`. */
  env?: Environment;
}

export interface LoadedConfig<T> {
  config: T;
  /** The files read, base first. */
  files: string[];
}

/**
 * Loads an experiment: YAML files (with `extends`), then command-line overrides, then `${ENV}` interpolation, then
 * the zod schema. Any problem is one ConfigError listing every issue with the file (or override) it came from, the
 * key path, what was expected and what was found, so nothing half-starts on a bad config.
 */
export function loadConfig<S extends z.ZodType>(options: LoadConfigOptions<S>): LoadedConfig<z.output<S>> {
  const loaded = options.file
    ? loadYamlWithExtends(options.file)
    : { value: {} as ConfigObject, files: [], provenance: new Provenance() };
  const fallbackOrigin = options.file ? displayPath(options.file) : 'defaults';
  let tree = loaded.value;
  for (const text of options.overrides ?? []) {
    const override = parseOverride(text);
    tree = applyOverride(tree, override);
    loaded.provenance.record(override.value, `override '${override.text}'`, override.path);
  }
  const originOf = (path: readonly PropertyKey[]) => loaded.provenance.originOf(path, fallbackOrigin);
  const interpolated = interpolateEnv(tree, options.env ?? {}, originOf);
  const result = options.schema.safeParse(interpolated, { reportInput: true });
  if (!result.success) {
    throw new ConfigError(
      `invalid configuration:\n${formatIssues(result.error.issues, originOf, options.schema)}`,
      {
        hint: 'fix the keys listed above in the file or override named on each line',
      },
    );
  }
  return { config: result.data, files: loaded.files.map((file) => displayPath(file)) };
}
