import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.ts';

export interface ExperimentArgs {
  /** `--config path/to/exp.yaml`. */
  configFile: string | undefined;
  /** Positional `key.path=value` arguments. */
  overrides: string[];
  /** Other positionals (sub-commands), in order. */
  positionals: string[];
  flags: Record<string, string | boolean | undefined>;
}

/**
 * Parses the command line shared by every CLI: `--config FILE`, `key.path=value` overrides, and the extra
 * `--flags` a command declares. Unknown flags are a ConfigError (exit code 2), not silently ignored.
 */
export function parseExperimentArgs(
  argv: readonly string[],
  extraFlags: Record<string, { type: 'string' | 'boolean'; short?: string }> = {},
): ExperimentArgs {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { config: { type: 'string', short: 'c' }, ...extraFlags },
    });
  } catch (cause) {
    throw new ConfigError(`bad command line: ${(cause as Error).message}`, {
      hint: `usage: --config configs/exp1.yaml [key.path=value ...]; known flags: ${['config', ...Object.keys(extraFlags)].map((f) => `--${f}`).join(', ')}`,
      cause,
    });
  }
  const overrides: string[] = [];
  const positionals: string[] = [];
  for (const arg of parsed.positionals) (arg.includes('=') ? overrides : positionals).push(arg);
  const { config, ...flags } = parsed.values as Record<string, string | boolean | undefined>;
  return { configFile: typeof config === 'string' ? config : undefined, overrides, positionals, flags };
}
