import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsEmulator } from '../../../../tests/support/gcs-emulator/index.ts';
import { StorageError } from '../errors.ts';
import { createStorage } from './create-storage.ts';
import type { Storage } from './types.ts';

/**
 * One contract, two backends: every behaviour the product relies on must hold for local paths and for gs:// alike.
 */
const emulator = new GcsEmulator();
let localRoot: string;
let storage: Storage;
let run = 0;

beforeAll(async () => {
  const endpoint = await emulator.start();
  emulator.createBucket('contract-bucket');
  localRoot = mkdtempSync(join(tmpdir(), 'storage-contract-'));
  storage = createStorage({
    gcs: {
      apiEndpoint: endpoint,
      projectId: 'test',
      resumableThresholdBytes: 256 * 1024,
      listPageSize: 3,
      retry: { maxRetries: 3, maxRetryDelaySeconds: 1 },
    },
  });
});

afterAll(async () => {
  await emulator.stop();
  rmSync(localRoot, { recursive: true, force: true });
});

const backends = [
  { name: 'local', root: () => join(localRoot, `run-${run++}`) },
  { name: 'gcs', root: () => `gs://contract-bucket/run-${run++}` },
];

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe.each(backends)('storage contract: $name', ({ root }) => {
  it('writes and reads buffers and strings', async () => {
    const base = root();
    await storage.write(`${base}/a/b.bin`, Buffer.from([1, 2, 3]));
    await storage.write(`${base}/note.txt`, 'hello');
    expect([...(await storage.read(`${base}/a/b.bin`))]).toEqual([1, 2, 3]);
    expect((await storage.read(`${base}/note.txt`)).toString()).toBe('hello');
    await storage.write(`${base}/note.txt`, 'replaced');
    expect((await storage.read(`${base}/note.txt`)).toString()).toBe('replaced');
  });

  it('streams in and out, including an object large enough for a resumable upload', async () => {
    const base = root();
    const big = Buffer.alloc(700 * 1024);
    for (let i = 0; i < big.length; i += 1) big[i] = (i * 31) & 0xff;
    async function* chunks() {
      for (let offset = 0; offset < big.length; offset += 64 * 1024)
        yield big.subarray(offset, offset + 64 * 1024);
    }
    await storage.writeStream(`${base}/big.bin`, chunks());
    expect((await collect(await storage.readStream(`${base}/big.bin`))).equals(big)).toBe(true);
    await storage.write(`${base}/big-buffer.bin`, big);
    expect((await storage.read(`${base}/big-buffer.bin`)).equals(big)).toBe(true);
  });

  it('lists every object under a prefix, recursively, sorted, across pages', async () => {
    const base = root();
    const names = ['x/1.txt', 'x/2.txt', 'x/sub/3.txt', 'x/sub/deeper/4.txt', 'x/5.txt', 'y/6.txt'];
    for (const name of names) await storage.write(`${base}/${name}`, name);
    const listed = await storage.list(`${base}/x`);
    expect(listed.map((e) => e.relativePath)).toEqual([
      '1.txt',
      '2.txt',
      '5.txt',
      'sub/3.txt',
      'sub/deeper/4.txt',
    ]);
    expect(listed[0]!.size).toBe('x/1.txt'.length);
    expect((await storage.read(listed[3]!.uri)).toString()).toBe('x/sub/3.txt');
    expect(await storage.list(`${base}/nothing-here`)).toEqual([]);
  });

  it('answers exists, deletes objects and trees', async () => {
    const base = root();
    await storage.write(`${base}/t/1`, '1');
    await storage.write(`${base}/t/2/3`, '3');
    await storage.write(`${base}/keep`, 'k');
    expect(await storage.exists(`${base}/t/1`)).toBe(true);
    expect(await storage.exists(`${base}/t/missing`)).toBe(false);
    await storage.delete(`${base}/t/1`);
    await storage.delete(`${base}/t/1`);
    expect(await storage.exists(`${base}/t/1`)).toBe(false);
    await storage.deleteTree(`${base}/t`);
    expect(await storage.list(`${base}/t`)).toEqual([]);
    expect(await storage.exists(`${base}/keep`)).toBe(true);
  });

  it('copies a tree to either backend', async () => {
    const base = root();
    await storage.write(`${base}/src/m.json`, '{"a":1}');
    await storage.write(`${base}/src/w/1.bin`, Buffer.from([9, 8]));
    for (const target of [
      join(localRoot, `copy-${run++}`),
      `gs://contract-bucket/copy-${run++}`,
      `${base}/dst`,
    ]) {
      await storage.copyTree(`${base}/src`, target);
      expect((await storage.list(target)).map((e) => e.relativePath)).toEqual(['m.json', 'w/1.bin']);
      expect([...(await storage.read(`${target}/w/1.bin`))]).toEqual([9, 8]);
    }
  });

  it('reports a missing object as STORAGE_NOT_FOUND naming it', async () => {
    const base = root();
    for (const attempt of [
      () => storage.read(`${base}/absent.bin`),
      () => storage.readStream(`${base}/absent.bin`),
    ]) {
      const error = await attempt().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).code).toBe('STORAGE_NOT_FOUND');
      expect((error as StorageError).message).toContain('absent.bin');
    }
  });
});

describe('storage URIs', () => {
  it('rejects unsupported schemes and bad bucket names with a hint', async () => {
    const error = await storage.read('s3://bucket/key').catch((caught: unknown) => caught);
    expect((error as StorageError).code).toBe('STORAGE_UNSUPPORTED_SCHEME');
    expect((error as StorageError).hint).toMatch(/gs:\/\/bucket/);
    await expect(storage.list('gs://UPPER/x')).rejects.toThrow(/does not name a valid bucket/);
    await expect(storage.exists('')).rejects.toThrow(/empty storage URI/);
  });

  it('accepts file:// URIs', async () => {
    const path = join(localRoot, 'file-uri.txt');
    await storage.write(`file://${path}`, 'via file url');
    expect((await storage.read(path)).toString()).toBe('via file url');
  });
});
