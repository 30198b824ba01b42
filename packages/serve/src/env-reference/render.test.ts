import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DRIFT_ENV, serveEnvSchema } from '../config.ts';
import { ENV_REFERENCE_COMMAND, ENV_REFERENCE_PATH } from './paths.ts';
import { describeEnvSchema, driftEnvDefaults, renderEnvReference } from './render.ts';

describe('environment reference', () => {
  it('docs/serve-environment.md is what the generator makes from the schema today (run `pnpm docs:env`)', () => {
    const expected = renderEnvReference(serveEnvSchema, {
      command: ENV_REFERENCE_COMMAND,
      defaults: driftEnvDefaults(DRIFT_ENV),
    });
    const actual = readFileSync(ENV_REFERENCE_PATH, 'utf8');
    expect(actual, 'docs/serve-environment.md is stale: run `pnpm docs:env` and commit it').toBe(expected);
  });

  it('documents every variable, with the drift defaults taken from driftConfigSchema', () => {
    const { rows, undocumented } = describeEnvSchema(serveEnvSchema, driftEnvDefaults(DRIFT_ENV));
    expect(undocumented).toEqual([]);
    const byName = Object.fromEntries(rows.map((row) => [row.name, row]));
    expect(byName.PORT).toMatchObject({ default: '`8080`', accepts: 'whole number, 0 to 65,535' });
    expect(byName.DRIFT_KS_P_VALUE).toMatchObject({ default: '`0.05`', accepts: 'number, 0 to 1' });
    expect(byName.DRIFT_WINDOW_SIZE?.default).toBe('`500`');
    expect(byName.ADMIN_TOKEN).toMatchObject({ default: '(unset)', accepts: 'text, at least 16 characters' });
    expect(byName.LOG_LEVEL?.accepts).toContain('`silent`');
  });

  it('reads defaults and accepted values through optional/default wrappers, and lists undocumented variables', () => {
    const schema = z.object({
      A: z.string().meta({ accepts: 'a thing' }).default('x').describe('An a | with a pipe'),
      B: z.enum(['p', 'q']).optional(),
      C: z.string().optional().describe('C'),
    });
    const { rows, undocumented } = describeEnvSchema(schema, { C: 3 });
    expect(undocumented).toEqual(['B']);
    expect(rows).toEqual([
      { name: 'A', default: '`x`', accepts: 'a thing', meaning: 'An a | with a pipe' },
      { name: 'B', default: '(unset)', accepts: '`p`, `q`', meaning: '' },
      { name: 'C', default: '`3`', accepts: 'text', meaning: 'C' },
    ]);
    expect(renderEnvReference(schema, { command: 'x' })).toContain(
      '| `A` | `x` | a thing | An a \\| with a pipe |',
    );
  });
});
