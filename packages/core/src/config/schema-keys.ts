import type { z } from 'zod';

/** Wrappers that do not change which keys an object accepts. */
const TRANSPARENT = new Set([
  'optional',
  'nullable',
  'default',
  'prefault',
  'catch',
  'readonly',
  'nonoptional',
]);

/**
 * The keys an object schema accepts at `path`, for "did you mean" hints. Walks objects and transparent wrappers;
 * returns undefined where the shape is not a plain object (unions, records), rather than guessing.
 */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let current: z.core.$ZodType | undefined = schema;
  for (const segment of [...path, undefined]) {
    current = unwrap(current);
    const def = current?._zod.def as { type: string; shape?: Record<string, z.core.$ZodType> } | undefined;
    if (def?.type !== 'object' || !def.shape) return undefined;
    if (segment === undefined) return Object.keys(def.shape).sort();
    current = def.shape[String(segment)];
  }
  return undefined;
}

function unwrap(schema: z.core.$ZodType | undefined): z.core.$ZodType | undefined {
  let current = schema;
  while (current) {
    const def = current._zod.def as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType };
    if (TRANSPARENT.has(def.type) && def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else return current;
  }
  return current;
}
