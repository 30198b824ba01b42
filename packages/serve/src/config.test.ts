import { ConfigError } from '@tfmlops/core';
import { describe, expect, it } from 'vitest';
import { parseServeConfig } from './config.ts';

describe('parseServeConfig', () => {
  it('works with nothing set: port 8080 on all interfaces, the exp1 pointer, polling and admin off', () => {
    const config = parseServeConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      modelUri: 'artifacts/models/exp1/latest.json',
      adminToken: undefined,
      modelPollSeconds: 0,
      maxBatch: 32,
      backend: 'auto',
    });
  });

  it('reads every variable and treats empty strings as unset', () => {
    const config = parseServeConfig({
      PORT: '9000',
      MODEL_URI: 'gs://bucket/models/exp1/latest.json',
      ADMIN_TOKEN: 'a-long-enough-secret',
      MAX_BATCH: '16',
      MAX_BATCH_DELAY_MS: '0',
      MODEL_POLL_SECONDS: '30',
      LOG_LEVEL: 'warn',
      HOST: '',
      STORAGE_EMULATOR_HOST: 'localhost:4443',
    });
    expect(config).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      modelUri: 'gs://bucket/models/exp1/latest.json',
      adminToken: 'a-long-enough-secret',
      maxBatch: 16,
      maxBatchDelayMs: 0,
      modelPollSeconds: 30,
      logLevel: 'warn',
      storageEmulatorHost: 'localhost:4443',
    });
  });

  it('reports every bad variable at once by name, and never echoes the admin token', () => {
    const error = (() => {
      try {
        parseServeConfig({ PORT: 'eighty', MAX_BATCH: '0', ADMIN_TOKEN: 'short', LOG_LEVEL: 'loud' });
      } catch (e) {
        return e;
      }
    })() as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('PORT="eighty": a whole number');
    expect(error.message).toContain('MAX_BATCH="0"');
    expect(error.message).toContain('LOG_LEVEL="loud"');
    expect(error.message).toContain('ADMIN_TOKEN=(hidden): at least 16 characters');
    expect(error.message).not.toContain('short');
    expect(error.hint).toBeTruthy();
  });
});
