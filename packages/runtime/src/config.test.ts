import { type ConfigError, composeConfigSchema, exitCodeFor, loadConfig } from '@tfmlops/core';
import { describe, expect, it } from 'vitest';
import { runtimeConfigSchema } from './config.ts';

const load = (...overrides: string[]) =>
  loadConfig({ schema: composeConfigSchema({ runtime: runtimeConfigSchema }), overrides });

function configError(...overrides: string[]): ConfigError {
  try {
    load(...overrides);
  } catch (error) {
    expect(exitCodeFor(error)).toBe(2);
    return error as ConfigError;
  }
  throw new Error(`expected ${overrides.join(' ')} to be rejected`);
}

describe('runtime config ranges (checked by the schema, so the CLI exits 2 before anything starts)', () => {
  it('accepts the documented ranges and defaults', () => {
    expect(load().config.runtime).toEqual({ backend: 'auto', dataParallelWorkers: 'auto' });
    expect(load('runtime.threads=8', 'runtime.dataParallelWorkers=32').config.runtime).toMatchObject({
      threads: 8,
      dataParallelWorkers: 32,
    });
    expect(load('runtime.threads=1', 'runtime.dataParallelWorkers=0').config.runtime).toMatchObject({
      threads: 1,
      dataParallelWorkers: 0,
    });
  });

  it.each([
    ['runtime.threads=9', /runtime\.threads/],
    ['runtime.threads=0', /runtime\.threads/],
    ['runtime.threads=1.5', /runtime\.threads/],
    ['runtime.dataParallelWorkers=33', /runtime\.dataParallelWorkers/],
    ['runtime.dataParallelWorkers=-1', /runtime\.dataParallelWorkers/],
    ['runtime.backend=gpu', /runtime\.backend/],
  ])('%s is a config error', (override, key) => {
    expect(configError(override).message).toMatch(key);
  });

  it('names the limit of runtime.threads', () => {
    expect(configError('runtime.threads=9').message).toMatch(/8/);
  });
});
