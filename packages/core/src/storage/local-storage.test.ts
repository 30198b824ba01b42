import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StorageError } from '../errors.ts';
import { createStorage } from './create-storage.ts';

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

  it('names the path when it cannot read a directory or write under a file', async () => {
    await storage.write(join(root, 'file.txt'), 'x');
    const notAFile = await storage.readStream(root).catch((e: unknown) => e);
    expect((notAFile as StorageError).code).toBe('STORAGE_NOT_A_FILE');
    const underFile = await storage.write(join(root, 'file.txt', 'child'), 'y').catch((e: unknown) => e);
    expect(underFile).toBeInstanceOf(StorageError);
    expect((underFile as StorageError).message).toContain(join(root, 'file.txt'));
  });
});
