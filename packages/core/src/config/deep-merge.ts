/** A plain YAML mapping (not an array, not null). */
export type ConfigObject = { [key: string]: unknown };

export function isConfigObject(value: unknown): value is ConfigObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Merges `override` onto `base` the way experiment files expect: mappings merge key by key, everything else
 * (scalars, lists) replaces. Inputs are left untouched.
 */
export function deepMerge(base: ConfigObject, override: ConfigObject): ConfigObject {
  const merged: ConfigObject = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const existing = merged[key];
    merged[key] = isConfigObject(existing) && isConfigObject(value) ? deepMerge(existing, value) : value;
  }
  return merged;
}
