import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { StorageError } from '../errors.ts';
import { createStorage } from './create-storage.ts';
import { failureOf } from './failure-of.test-support.ts';

const root = mkdtempSync(join(tmpdir(), 'local-storage-'));
const storage = createStorage();
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('local storage atomicity', () => {
  it('a source stream that fails midway leaves neither the target nor temp files', async () => {
    await storage.write(join(root, 'keep', 'model.bin'), 'old version');
    async function* failing() {
      yield Buffer.from('partial bytes');
      throw new Error('network dropped');
    }
    await expect(storage.writeStream(join(root, 'keep', 'model.bin'), failing())).rejects.toThrow(
      /network dropped/,
    );
    expect((await storage.read(join(root, 'keep', 'model.bin'))).toString()).toBe('old version');
    await expect(storage.writeStream(join(root, 'fresh', 'new.bin'), failing())).rejects.toThrow();
    expect(await storage.exists(join(root, 'fresh', 'new.bin'))).toBe(false);
    expect(readdirSync(join(root, 'keep'))).toEqual(['model.bin']);
    expect(readdirSync(join(root, 'fresh'))).toEqual([]);
  });

  it('create-only writes racing for one name: exactly one wins, no temp files remain', async () => {
    const target = join(root, 'race', 'v1.json');
    const results = await Promise.allSettled(
      ['a', 'b', 'c', 'd'].map((v) => storage.write(target, v, { ifNotExists: true })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect((r.reason as StorageError).code).toBe('STORAGE_EXISTS');
    }
    expect(readdirSync(join(root, 'race'))).toEqual(['v1.json']);
  });

  it('listings skip in-flight temp files but keep ordinary dot files', async () => {
    const dir = join(root, 'listing');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '.model.bin.0123456789ab.tmp'), 'in flight');
    writeFileSync(join(dir, '.env'), 'dot file');
    await storage.write(join(dir, 'model.bin'), 'done');
    expect((await storage.list(dir)).map((e) => e.relativePath)).toEqual(['.env', 'model.bin']);
    const asUrls = await storage.list(pathToFileURL(dir).href);
    expect(asUrls.map((e) => e.uri)).toEqual([
      pathToFileURL(join(dir, '.env')).href,
      pathToFileURL(join(dir, 'model.bin')).href,
    ]);
  });

  it('writes under a very long file name without exceeding the name limit for its temp file', async () => {
    const name = `${'n'.repeat(250)}.bin`;
    await storage.write(join(root, 'long', name), 'fits');
    expect((await storage.read(join(root, 'long', name))).toString()).toBe('fits');
  });
});

describe('local storage errors', () => {
  it('names the path when it cannot read a directory or write under a file', async () => {
    await storage.write(join(root, 'file.txt'), 'x');
    // One at a time: a second promise made up front could reject, unhandled, while the first is awaited.
    for (const attempt of [() => storage.readStream(root), () => storage.read(root)]) {
      expect((await failureOf(attempt())).code).toBe('STORAGE_NOT_A_FILE');
    }
    const underFile = await failureOf(storage.write(join(root, 'file.txt', 'child'), 'y'));
    expect(underFile.code).toBe('STORAGE_NOT_A_DIRECTORY');
    expect(underFile.message).toContain(join(root, 'file.txt'));
    expect(await storage.exists(join(root, 'file.txt', 'child'))).toBe(false);
    expect(await storage.list(join(root, 'file.txt'))).toEqual([]);
  });

  it('deleteTree removes directories only, like a GCS prefix', async () => {
    await storage.write(join(root, 'tree', 'a', 'b'), 'b');
    await storage.deleteTree(join(root, 'file.txt'));
    expect(await storage.exists(join(root, 'file.txt'))).toBe(true);
    await storage.deleteTree(join(root, 'tree'));
    expect(await storage.list(join(root, 'tree'))).toEqual([]);
  });
});
