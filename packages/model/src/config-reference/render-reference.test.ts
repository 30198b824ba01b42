import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { experimentConfigSchema } from '../config.ts';
import { CONFIG_REFERENCE_COMMAND, CONFIG_REFERENCE_PATH } from './paths.ts';
import { describeConfigSchema, renderConfigReference } from './render-reference.ts';

describe('config reference', () => {
  it('docs/config-reference.md is what the generator makes from the schemas today (run `pnpm docs:config`)', () => {
    const expected = renderConfigReference(experimentConfigSchema, { command: CONFIG_REFERENCE_COMMAND });
    const actual = readFileSync(CONFIG_REFERENCE_PATH, 'utf8');
    expect(actual, 'docs/config-reference.md is stale: run `pnpm docs:config` and commit it').toBe(expected);
  });

  it('documents every key of the experiment schema', () => {
    expect(describeConfigSchema(experimentConfigSchema).undocumented).toEqual([]);
  });

  it('reads types, ranges, defaults, optional keys, unions and descriptions through wrappers', () => {
    const schema = z.strictObject({
      top: z.string().optional().describe('A top-level key'),
      section: z
        .strictObject({
          count: z.number().int().min(1).max(8).default(2).describe('How many'),
          rate: z.number().gt(0).lt(1).describe('inner').default(0.5),
          mode: z.enum(['a', 'b']).default('a').describe('Which'),
          either: z
            .union([z.literal('auto'), z.number().int().min(0)])
            .default('auto')
            .describe('Auto or n'),
          list: z.array(z.string()).min(1).describe('Names'),
          bare: z.boolean(),
          nested: z
            .strictObject({ deep: z.boolean().default(true).describe('Deep') })
            .prefault({})
            .describe('N'),
          pick: z
            .discriminatedUnion('kind', [
              z
                .strictObject({ kind: z.literal('x'), size: z.number().positive().describe('Size') })
                .describe('X'),
              z.strictObject({ kind: z.literal('y') }).describe('Y'),
            ])
            .describe('One of'),
        })
        .optional()
        .describe('A section'),
    });
    const { tables, undocumented } = describeConfigSchema(schema);
    expect(undocumented).toEqual(['section.bare']);
    expect(tables.map((t) => t.title)).toEqual([
      '(top level)',
      'section',
      'section.pick with kind: x',
      'section.pick with kind: y',
    ]);
    const rows = Object.fromEntries(tables.flatMap((t) => t.rows).map((r) => [r.key, r]));
    expect(rows.top).toEqual({ key: 'top', type: 'string', default: 'unset', meaning: 'A top-level key' });
    expect(rows['section.count']).toMatchObject({
      type: 'integer in [1, 8]',
      default: '`2`',
      meaning: 'How many',
    });
    expect(rows['section.rate']).toMatchObject({
      type: 'number in (0, 1)',
      default: '`0.5`',
      meaning: 'inner',
    });
    expect(rows['section.mode']?.type).toBe('`a` | `b`');
    expect(rows['section.either']?.type).toBe('`auto` or integer ≥ 0');
    expect(rows['section.list']).toMatchObject({ type: 'list of string (at least 1)', default: 'required' });
    expect(rows['section.nested.deep']).toMatchObject({ type: 'boolean', default: '`true`' });
    expect(rows['section.pick']?.type).toBe('mapping with `kind`: x | y (keys below)');
    expect(rows['section.pick.size']).toMatchObject({ type: 'number > 0', meaning: 'Size' });
    const markdown = renderConfigReference(schema, { command: 'gen' });
    expect(markdown).toContain('| `section.mode` | `a` \\| `b` | `"a"` | Which |');
  });
});
