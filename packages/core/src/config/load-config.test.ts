import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { composeConfigSchema } from './compose.ts';
import { loadConfig } from './load-config.ts';

const schema = composeConfigSchema({
  train: z
    .strictObject({
      epochs: z.number().int().positive().default(3),
      lr: z.number().positive().default(0.001),
      shuffle: z.boolean().default(true),
      layers: z.array(z.number()).default([32]),
      note: z.string().nullable().default(null),
    })
    .prefault({}),
  data: z
    .strictObject({
      root: z.string().default('data'),
      split: z.strictObject({ seed: z.number().default(1), val: z.number().default(0.1) }).prefault({}),
    })
    .prefault({}),
  runtime: z.strictObject({ backend: z.enum(['auto', 'wasm', 'cpu']).default('auto') }).prefault({}),
});

let dir: string;
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
function errorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'config-test-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('loadConfig', () => {
  it('applies schema defaults when there is no file', () => {
    const { config } = loadConfig({ schema });
    expect(config.train).toEqual({ epochs: 3, lr: 0.001, shuffle: true, layers: [32], note: null });
    expect(config.runtime.backend).toBe('auto');
  });

  it('deep-merges an extends chain, child on top, lists replaced', () => {
    file(
      'base.yaml',
      'train:\n  epochs: 10\n  layers: [8, 16]\ndata:\n  split:\n    seed: 5\n    val: 0.2\n',
    );
    file('mid.yaml', 'extends: ./base.yaml\ntrain:\n  lr: 0.01\n');
    const exp = file(
      'exp.yaml',
      'extends: mid.yaml\ntrain:\n  layers: [64]\ndata:\n  split:\n    val: 0.3\n',
    );
    const { config, files } = loadConfig({ schema, file: exp });
    expect(config.train).toMatchObject({ epochs: 10, lr: 0.01, layers: [64] });
    expect(config.data.split).toEqual({ seed: 5, val: 0.3 });
    expect(files.map((f) => f.split('/').pop())).toEqual(['base.yaml', 'mid.yaml', 'exp.yaml']);
  });

  it('merges a list of bases left to right', () => {
    file('a.yaml', 'train:\n  epochs: 1\n  lr: 0.5\n');
    file('b.yaml', 'train:\n  epochs: 2\n');
    const exp = file('exp.yaml', 'extends: [a.yaml, b.yaml]\n');
    expect(loadConfig({ schema, file: exp }).config.train).toMatchObject({ epochs: 2, lr: 0.5 });
  });

  it('parses overrides as YAML scalars: numbers, booleans, null, lists, strings', () => {
    const { config } = loadConfig({
      schema,
      overrides: [
        'train.epochs=7',
        'train.shuffle=false',
        'train.note=null',
        'train.layers=[1, 2.5]',
        'data.root=/x',
      ],
    });
    expect(config.train).toMatchObject({ epochs: 7, shuffle: false, note: null, layers: [1, 2.5] });
    expect(config.data.root).toBe('/x');
  });

  it('interpolates ${VAR:-default}, typing whole-value references', () => {
    const exp = file(
      'exp.yaml',
      'train:\n  epochs: ${EPOCHS:-4}\n  lr: ${LR}\ndata:\n  root: ${HOME_DIR:-/d}/sets\n',
    );
    const { config } = loadConfig({ schema, file: exp, env: { LR: '0.2', HOME_DIR: '/home/me' } });
    expect(config.train.epochs).toBe(4);
    expect(config.train.lr).toBe(0.2);
    expect(config.data.root).toBe('/home/me/sets');
  });

  it('rejects an unset variable without default, naming file and key', () => {
    const exp = file('exp.yaml', 'data:\n  root: ${DATA_ROOT}\n');
    const error = errorOf(() => loadConfig({ schema, file: exp, env: {} }));
    expect(error.message).toMatch(/exp\.yaml: data\.root: environment variable DATA_ROOT is not set/);
  });
});

describe('loadConfig error messages', () => {
  it('unknown key: names the file that defined it, the key path and a suggestion', () => {
    file('base.yaml', 'train:\n  epocs: 3\n');
    const exp = file('exp.yaml', 'extends: base.yaml\ntrain:\n  lr: 0.1\n');
    const error = errorOf(() => loadConfig({ schema, file: exp }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/base\.yaml: train\.epocs: unknown key \(did you mean 'epochs'\?\)/);
    expect(error.message).toMatch(/known keys: epochs, layers, lr, note, shuffle/);
  });

  it('unknown top-level section is rejected', () => {
    const exp = file('exp.yaml', 'trian:\n  epochs: 3\n');
    expect(errorOf(() => loadConfig({ schema, file: exp })).message).toMatch(
      /exp\.yaml: trian: unknown key \(did you mean 'train'\?\)/,
    );
  });

  it('wrong type: says what was expected and what was found', () => {
    const exp = file('exp.yaml', 'train:\n  epochs: ten\n');
    expect(errorOf(() => loadConfig({ schema, file: exp })).message).toMatch(
      /exp\.yaml: train\.epochs: expected number, found string "ten"/,
    );
  });

  it('bad enum value lists the allowed ones', () => {
    const error = errorOf(() => loadConfig({ schema, overrides: ['runtime.backend=gpu'] }));
    expect(error.message).toMatch(
      /override 'runtime\.backend=gpu': runtime\.backend: expected one of "auto", "wasm", "cpu", found string "gpu"/,
    );
  });

  it('missing file names the path and who extended it', () => {
    expect(errorOf(() => loadConfig({ schema, file: join(dir, 'nope.yaml') })).message).toMatch(
      /config file not found: .*nope\.yaml/,
    );
    const exp = file('exp.yaml', 'extends: ./gone.yaml\n');
    expect(errorOf(() => loadConfig({ schema, file: exp })).message).toMatch(
      /config file not found: .*gone\.yaml \(extended by .*exp\.yaml\)/,
    );
  });

  it('extends cycle shows the chain', () => {
    file('a.yaml', 'extends: b.yaml\n');
    file('b.yaml', 'extends: c.yaml\n');
    file('c.yaml', 'extends: a.yaml\n');
    const error = errorOf(() => loadConfig({ schema, file: join(dir, 'a.yaml') }));
    expect(error.message).toMatch(/extends cycle: .*a\.yaml -> .*b\.yaml -> .*c\.yaml -> .*a\.yaml/);
  });

  it('bad override syntax and unknown override keys', () => {
    expect(errorOf(() => loadConfig({ schema, overrides: ['train.epochs'] })).message).toMatch(
      /bad override 'train\.epochs': expected key\.path=value/,
    );
    expect(errorOf(() => loadConfig({ schema, overrides: ['train..x=1'] })).message).toMatch(/bad override/);
    const exp = file('exp.yaml', 'train:\n  epochs: 3\n');
    expect(errorOf(() => loadConfig({ schema, file: exp, overrides: ['train.epochs.x=1'] })).message).toMatch(
      /bad override 'train\.epochs\.x=1': train\.epochs is a number, not a mapping/,
    );
    expect(errorOf(() => loadConfig({ schema, overrides: ['train.epochs.x=1'] })).message).toMatch(
      /override 'train\.epochs\.x=1': train\.epochs: expected number, found mapping/,
    );
    expect(errorOf(() => loadConfig({ schema, overrides: ['train.momentum=0.9'] })).message).toMatch(
      /override 'train\.momentum=0\.9': train\.momentum: unknown key/,
    );
  });

  it('YAML syntax errors give file, line and column', () => {
    const exp = file('exp.yaml', 'train:\n  epochs: [1, 2\n');
    expect(errorOf(() => loadConfig({ schema, file: exp })).message).toMatch(
      /exp\.yaml:\d+:\d+: invalid YAML/,
    );
  });

  it('rejects non-mapping documents and bad extends values', () => {
    expect(errorOf(() => loadConfig({ schema, file: file('list.yaml', '- a\n- b\n') })).message).toMatch(
      /expected a mapping of keys at the top level/,
    );
    expect(errorOf(() => loadConfig({ schema, file: file('e.yaml', 'extends: 3\n') })).message).toMatch(
      /extends: expected a relative path or a list of paths, found 3/,
    );
  });

  it('an empty file is an empty mapping', () => {
    expect(loadConfig({ schema, file: file('empty.yaml', '') }).config.train.epochs).toBe(3);
  });

  it('reports every problem at once', () => {
    const exp = file('exp.yaml', 'train:\n  epochs: -1\n  lr: fast\n');
    const lines = errorOf(() => loadConfig({ schema, file: exp })).message.split('\n');
    expect(lines.filter((l) => l.includes('exp.yaml'))).toHaveLength(2);
  });
});
