import { ConfigError } from '../errors.ts';
import { isConfigObject } from './deep-merge.ts';
import { parseScalar } from './scalar.ts';

/** `${NAME}` or `${NAME:-default}`; NAME follows shell rules. */
const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE_VALUE_REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/;

export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * Replaces `${VAR:-default}` in every string of a config tree. A value that is exactly one reference takes the
 * type of what it expands to (`epochs: ${EPOCHS:-5}` is the number 5), so numbers and booleans can come from the
 * environment; a reference inside a longer string stays text. `describeOrigin` names the file a key came from.
 */
export function interpolateEnv(
  value: unknown,
  env: Environment,
  describeOrigin: (path: string[]) => string,
  path: string[] = [],
): unknown {
  if (typeof value === 'string') return interpolateString(value, env, () => describeOrigin(path), path);
  if (Array.isArray(value)) {
    return value.map((item, index) => interpolateEnv(item, env, describeOrigin, [...path, String(index)]));
  }
  if (isConfigObject(value)) {
    const result: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      result[key] = interpolateEnv(child, env, describeOrigin, [...path, key]);
    }
    return result;
  }
  return value;
}

function interpolateString(text: string, env: Environment, origin: () => string, path: string[]): unknown {
  const lookup = (name: string, fallback: string | undefined): string => {
    const found = env[name];
    if (found !== undefined && found !== '') return found;
    if (fallback !== undefined) return fallback;
    throw new ConfigError(
      `${origin()}: ${path.join('.')}: environment variable ${name} is not set and has no default`,
      { hint: `export ${name}=... before running, or write \${${name}:-default} in the config` },
    );
  };
  const whole = WHOLE_VALUE_REFERENCE.exec(text);
  if (whole) return parseScalar(lookup(whole[1]!, whole[2]));
  return text.replace(ENV_REFERENCE, (_match, name: string, fallback: string | undefined) =>
    lookup(name, fallback),
  );
}
