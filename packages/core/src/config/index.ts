export { type ExperimentArgs, parseExperimentArgs } from './cli-args.ts';
export { composeConfigSchema } from './compose.ts';
export { type ConfigObject, deepMerge, isConfigObject } from './deep-merge.ts';
export type { Environment } from './interpolate.ts';
export { type LoadConfigOptions, type LoadedConfig, loadConfig } from './load-config.ts';
export { loadYamlWithExtends } from './load-yaml.ts';
export { type ConfigOverride, parseOverride } from './overrides.ts';
export { resolveConfigPath } from './resolve-config-path.ts';
export { closestKey, describeValue } from './suggest.ts';
