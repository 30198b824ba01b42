import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StorageError } from '../errors.ts';
import { createStorage } from './create-storage.ts';
import { isGcsUri, joinUri, parentUri, parseGcsUri, parseUri } from './uri.ts';

function errorOf(action: () => unknown): StorageError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(StorageError);
    return error as StorageError;
  }
  throw new Error('expected a StorageError');
}

describe('storage URIs', () => {
  it('routes plain paths, file:// URLs and gs:// URIs', () => {
    expect(parseUri('runs/a')).toEqual({ kind: 'local', path: resolve('runs/a') });
    expect(parseUri('/tmp/x')).toEqual({ kind: 'local', path: '/tmp/x' });
    expect(parseUri('file:///tmp/with%20space/%23x')).toEqual({ kind: 'local', path: '/tmp/with space/#x' });
    expect(parseUri('gs://my-bucket/a/b.bin')).toEqual({ kind: 'gcs', bucket: 'my-bucket', key: 'a/b.bin' });
    expect(parseUri('gs://my-bucket')).toEqual({ kind: 'gcs', bucket: 'my-bucket', key: '' });
    expect(parseGcsUri('gs://b.example.com/')).toEqual({ bucket: 'b.example.com', key: '' });
    expect(isGcsUri('gs://b/x')).toBe(true);
    expect(isGcsUri('/gs://b')).toBe(false);
  });

  it('rejects what it cannot route, saying what would work', () => {
    const scheme = errorOf(() => parseUri('s3://bucket/key'));
    expect(scheme.code).toBe('STORAGE_UNSUPPORTED_SCHEME');
    expect(scheme.message).toContain("'s3://'");
    expect(scheme.hint).toMatch(/gs:\/\/bucket\/prefix/);
    expect(errorOf(() => parseUri('gs://UPPER/x')).message).toMatch(/does not name a valid bucket/);
    expect(errorOf(() => parseUri('gs://ab/x')).code).toBe('STORAGE_BAD_URI');
    expect(errorOf(() => parseUri('  ')).message).toMatch(/empty storage URI/);
    expect(errorOf(() => parseUri('file://server/share/x')).hint).toMatch(/three slashes/);
    expect(errorOf(() => parseGcsUri('/local/path')).message).toMatch(/not a gs:\/\/ URI/);
  });

  it('joins relative paths onto every kind of base', () => {
    expect(joinUri('gs://b/runs/', '/7/model.json')).toBe('gs://b/runs/7/model.json');
    expect(joinUri('gs://b/runs', 'a #1.txt')).toBe('gs://b/runs/a #1.txt');
    expect(joinUri('file:///data/runs', 'a #1/b?.txt')).toBe('file:///data/runs/a%20%231/b%3F.txt');
    expect(parseUri(joinUri('file:///data/runs', 'a #1/b?.txt'))).toEqual({
      kind: 'local',
      path: '/data/runs/a #1/b?.txt',
    });
    expect(joinUri('/data/runs', 'x/y')).toBe(join('/data/runs', 'x/y'));
    expect(joinUri('/data/runs', '/abs/elsewhere')).toBe('/abs/elsewhere');
  });

  it('a bad URI rejects the storage call instead of throwing synchronously', async () => {
    const storage = createStorage();
    for (const call of [
      () => storage.read('s3://b/k'),
      () => storage.readStream('s3://b/k'),
      () => storage.write('s3://b/k', 'x'),
      () => storage.list('s3://b/k'),
      () => storage.exists('s3://b/k'),
      () => storage.delete('s3://b/k'),
      () => storage.deleteTree('s3://b/k'),
      () => storage.copyTree('s3://b/k', '/tmp/x'),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'STORAGE_UNSUPPORTED_SCHEME' });
    }
  });

  it('parentUri gives the directory of a file URI, path or gs:// object', () => {
    expect(parentUri('gs://bucket/models/exp1/latest.json')).toBe('gs://bucket/models/exp1');
    expect(parentUri('gs://bucket/latest.json')).toBe('gs://bucket');
    expect(parentUri('gs://bucket')).toBe('gs://bucket');
    expect(parentUri('file:///srv/models/latest.json')).toBe('file:///srv/models');
    expect(parentUri('artifacts/models/exp1/latest.json')).toBe('artifacts/models/exp1');
    expect(parentUri('/abs/dir/')).toBe('/abs');
  });
});
