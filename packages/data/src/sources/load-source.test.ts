import { ConfigError, createLogger, createStorage } from '@tfmlops/core';
import { describe, expect, it } from 'vitest';
import { type SourceConfig, sourceConfigSchema } from './config.ts';
import { loadSource } from './load-source.ts';

const options = { storage: createStorage(), logger: createLogger({ level: 'silent' }) };

describe('loadSource', () => {
  it('rejects an unknown kind with a ConfigError listing the valid ones', async () => {
    const error = await loadSource({ kind: 'imagenet' } as unknown as SourceConfig, options).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe("unknown data source kind 'imagenet'");
    expect((error as ConfigError).hint).toBe(
      'set data.source.kind to one of: mnist, fashion-mnist, cifar10, imagefolder',
    );
  });

  it('asks for a cache directory before downloading anything', async () => {
    const config = sourceConfigSchema.parse({ kind: 'cifar10', mirrors: ['http://127.0.0.1:9/'] });
    const error = await loadSource(config, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).hint).toContain('data.source.cacheDir');
  });
});
