import { ConfigError } from '../errors.ts';
import { type ConfigObject, isConfigObject } from './deep-merge.ts';
import { parseScalar } from './scalar.ts';

export interface ConfigOverride {
  /** The argument as the user typed it, for messages. */
  text: string;
  path: string[];
  value: unknown;
}

const KEY_SEGMENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Parses `a.b.c=value` arguments. Values are read as YAML scalars: numbers, booleans, null and `[lists]`. */
export function parseOverride(text: string): ConfigOverride {
  const equals = text.indexOf('=');
  const hint = 'write overrides as key.path=value, e.g. train.epochs=5 or data.split.seed=7';
  if (equals <= 0) throw new ConfigError(`bad override '${text}': expected key.path=value`, { hint });
  const key = text.slice(0, equals).trim();
  const path = key.split('.');
  const badSegment = path.find((segment) => !KEY_SEGMENT.test(segment));
  if (badSegment !== undefined) {
    throw new ConfigError(`bad override '${text}': '${badSegment}' is not a valid key in '${key}'`, { hint });
  }
  return { text, path, value: parseScalar(text.slice(equals + 1)) };
}

/**
 * Applies an override onto a config tree (a copy is returned). Intermediate mappings are created when missing; the
 * schema check that follows rejects keys the schema does not know, naming the override.
 */
export function applyOverride(config: ConfigObject, override: ConfigOverride): ConfigObject {
  const root: ConfigObject = { ...config };
  let cursor = root;
  override.path.forEach((segment, index) => {
    if (index === override.path.length - 1) {
      cursor[segment] = override.value;
      return;
    }
    const next = cursor[segment];
    if (next !== undefined && !isConfigObject(next)) {
      throw new ConfigError(
        `bad override '${override.text}': ${override.path.slice(0, index + 1).join('.')} is a ${describe(next)}, not a mapping`,
        { hint: 'override a leaf value, or the whole value at that key' },
      );
    }
    const copy: ConfigObject = { ...(next ?? {}) };
    cursor[segment] = copy;
    cursor = copy;
  });
  return root;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'list';
  if (value === null) return 'null';
  return typeof value;
}
