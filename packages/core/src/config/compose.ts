import { z } from 'zod';

/**
 * Builds the schema of a whole experiment file from the sections each package owns (`runtime` from core, `data` from
 * the data package, ...). The result is strict at the top level so a misspelt section is an error, not ignored;
 * each package makes its own section strict the same way.
 */
export function composeConfigSchema<Sections extends Record<string, z.ZodType>>(sections: Sections) {
  return z.strictObject(sections);
}
