import { describe, expect, it } from 'vitest';
import {
  BackendError,
  ConfigError,
  DataError,
  exitCodeFor,
  formatError,
  ModelLoadError,
  StorageError,
} from './errors.ts';

describe('errors', () => {
  it('carry code, hint and cause, and keep their class name', () => {
    const root = new Error('socket hang up');
    const error = new StorageError('STORAGE_UNREACHABLE', 'cannot reach gs://b', {
      hint: 'check network',
      cause: root,
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('StorageError');
    expect(error.code).toBe('STORAGE_UNREACHABLE');
    expect(error.hint).toBe('check network');
    expect(error.cause).toBe(root);
    expect(new DataError('DATA_CORRUPT', 'x').code).toBe('DATA_CORRUPT');
    expect(new BackendError('BACKEND_UNAVAILABLE', 'x').code).toBe('BACKEND_UNAVAILABLE');
    expect(new ModelLoadError('MODEL_NOT_FOUND', 'x').code).toBe('MODEL_NOT_FOUND');
  });

  it('formats the chain of causes with hints for a terminal', () => {
    const error = new DataError('DATA_CHECKSUM', 'shard 3 is corrupt', {
      hint: 'run pnpm data prepare again',
      cause: new ConfigError('inner', { cause: 'plain string' }),
    });
    expect(formatError(error)).toBe(
      [
        'error [DATA_CHECKSUM]: shard 3 is corrupt',
        '  hint: run pnpm data prepare again',
        'caused by [CONFIG_INVALID]: inner',
        'caused by: plain string',
      ].join('\n'),
    );
    expect(formatError(new TypeError('boom'))).toBe('error: boom');
  });

  it('maps configuration errors to exit code 2 and the rest to 1', () => {
    expect(exitCodeFor(new ConfigError('bad'))).toBe(2);
    expect(exitCodeFor(new DataError('DATA_X', 'bad'))).toBe(1);
    expect(exitCodeFor('weird')).toBe(1);
  });
});
