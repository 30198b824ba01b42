import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsEmulator } from '../../../../tests/support/gcs-emulator/index.ts';
import { createStorage } from './create-storage.ts';
import { failureOf } from './failure-of.test-support.ts';
import type { Storage } from './types.ts';
import { joinUri } from './uri.ts';

/**
 * One contract, every backend: each behaviour the product relies on must hold for local paths, file:// URLs and
 * gs:// alike. The GCS backend runs against the in-process emulator with small thresholds, so the "large" object
 * below goes through a multi-chunk resumable upload and listings span several pages.
 */
const emulator = new GcsEmulator();
const localRoot = mkdtempSync(join(tmpdir(), 'storage-contract-'));
let storage: Storage;
let run = 0;

beforeAll(async () => {
  const endpoint = await emulator.start();
  emulator.createBucket('contract-bucket');
  storage = createStorage({
    gcs: {
      apiEndpoint: endpoint,
      projectId: 'test',
      resumableThresholdBytes: 1024 * 1024,
      resumableChunkBytes: 256 * 1024,
      listPageSize: 3,
      retry: { maxRetries: 2, maxRetryDelaySeconds: 1 },
    },
  });
});

afterAll(async () => {
  await emulator.stop();
  rmSync(localRoot, { recursive: true, force: true });
});

const backends = [
  { name: 'local path', root: () => join(localRoot, `run-${run++}`) },
  { name: 'file:// URL', root: () => pathToFileURL(join(localRoot, `url-${run++}`)).href },
  { name: 'gs://', root: () => `gs://contract-bucket/run-${run++}` },
];

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function patterned(size: number, seed = 31): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += 1) out[i] = (i * seed + (i >> 8)) & 0xff;
  return out;
}

describe.each(backends)('storage contract: $name', ({ root }) => {
  it('writes and reads buffers, byte views, strings and empty objects; a write replaces', async () => {
    const base = root();
    const backing = Buffer.from([0, 0, 1, 2, 3, 0]);
    await storage.write(`${base}/a/b.bin`, new Uint8Array(backing.buffer, backing.byteOffset + 2, 3));
    await storage.write(`${base}/note.txt`, 'hello');
    await storage.write(`${base}/empty`, Buffer.alloc(0));
    expect([...(await storage.read(`${base}/a/b.bin`))]).toEqual([1, 2, 3]);
    expect((await storage.read(`${base}/note.txt`)).toString()).toBe('hello');
    expect((await storage.read(`${base}/empty`)).length).toBe(0);
    await storage.write(`${base}/note.txt`, 'replaced');
    expect((await storage.read(`${base}/note.txt`)).toString()).toBe('replaced');
  });

  it('streams in and out, including an object large enough for a multi-chunk resumable upload', async () => {
    const base = root();
    const big = patterned(3 * 1024 * 1024 + 12_345);
    async function* chunks() {
      for (let offset = 0; offset < big.length; offset += 100_000)
        yield big.subarray(offset, offset + 100_000);
    }
    await storage.writeStream(`${base}/big.bin`, chunks());
    expect((await collect(await storage.readStream(`${base}/big.bin`))).equals(big)).toBe(true);
    await storage.write(`${base}/big-buffer.bin`, big);
    expect((await storage.read(`${base}/big-buffer.bin`)).equals(big)).toBe(true);
    await storage.writeStream(
      `${base}/small.txt`,
      Readable.from([Buffer.from('small '), Buffer.from('stream')]),
    );
    expect((await storage.read(`${base}/small.txt`)).toString()).toBe('small stream');
    await storage.writeStream(`${base}/nothing`, Readable.from([]));
    expect((await storage.read(`${base}/nothing`)).length).toBe(0);
  });

  it('keeps names with spaces, unicode and reserved URL characters', async () => {
    const base = root();
    const name = 'dir with space/ünïcødé #1 ?&=+.txt';
    await storage.write(joinUri(base, name), 'odd name');
    expect((await storage.read(joinUri(base, name))).toString()).toBe('odd name');
    const [entry] = await storage.list(base);
    expect(entry?.relativePath).toBe(name);
    expect((await storage.read(entry!.uri)).toString()).toBe('odd name');
  });

  it('lists every object under a prefix, recursively, sorted, across pages, and nothing beside it', async () => {
    const base = root();
    const names = [
      'x/1.txt',
      'x/2.txt',
      'x/sub/3.txt',
      'x/sub/deeper/4.txt',
      'x/5.txt',
      'x-old/6.txt',
      'y/7',
    ];
    for (const name of names) await storage.write(`${base}/${name}`, name);
    const listed = await storage.list(`${base}/x`);
    expect(listed.map((e) => e.relativePath)).toEqual([
      '1.txt',
      '2.txt',
      '5.txt',
      'sub/3.txt',
      'sub/deeper/4.txt',
    ]);
    expect(listed.map((e) => e.size)).toEqual([7, 7, 7, 11, 18]);
    expect((await storage.read(listed[3]!.uri)).toString()).toBe('x/sub/3.txt');
    expect(await storage.list(`${base}/x/`)).toEqual(listed);
    expect((await storage.list(base)).length).toBe(names.length);
    expect(await storage.list(`${base}/nothing-here`)).toEqual([]);
  });

  it('answers exists, deletes objects (missing ones too) and whole trees', async () => {
    const base = root();
    await storage.write(`${base}/t/1`, '1');
    await storage.write(`${base}/t/2/3`, '3');
    await storage.write(`${base}/t-sibling`, 's');
    expect(await storage.exists(`${base}/t/1`)).toBe(true);
    expect(await storage.exists(`${base}/t/missing`)).toBe(false);
    await storage.delete(`${base}/t/1`);
    await storage.delete(`${base}/t/1`);
    expect(await storage.exists(`${base}/t/1`)).toBe(false);
    await storage.deleteTree(`${base}/t`);
    expect(await storage.list(`${base}/t`)).toEqual([]);
    expect(await storage.exists(`${base}/t-sibling`)).toBe(true);
    await storage.deleteTree(`${base}/never-existed`);
  });

  it('copies a tree to a local directory, to GCS and within its own backend', async () => {
    const base = root();
    const weights = patterned(1536 * 1024, 7);
    await storage.write(`${base}/src/m.json`, '{"a":1}');
    await storage.write(`${base}/src/w/1.bin`, weights);
    for (const target of [
      join(localRoot, `copy-${run++}`),
      `gs://contract-bucket/copy-${run++}`,
      `${base}/dst`,
    ]) {
      await storage.copyTree(`${base}/src`, target);
      expect((await storage.list(target)).map((e) => e.relativePath)).toEqual(['m.json', 'w/1.bin']);
      expect((await storage.read(`${target}/w/1.bin`)).equals(weights)).toBe(true);
      expect((await storage.read(`${target}/m.json`)).toString()).toBe('{"a":1}');
    }
  });

  it('reports a missing object as STORAGE_NOT_FOUND naming it', async () => {
    const base = root();
    for (const attempt of [
      () => storage.read(`${base}/absent.bin`),
      () => storage.readStream(`${base}/absent.bin`),
    ]) {
      const error = await failureOf(attempt());
      expect(error.code).toBe('STORAGE_NOT_FOUND');
      expect(error.message).toContain('absent.bin');
      expect(error.hint).toBeTruthy();
    }
  });

  it('a source that fails midway leaves the previous version, and no new object, visible', async () => {
    const base = root();
    async function* failing(size: number) {
      yield patterned(size);
      throw new Error('source died');
    }
    await storage.write(`${base}/keep.bin`, 'old version');
    for (const size of [10, 1536 * 1024]) {
      const error = await failureOf(storage.writeStream(`${base}/keep.bin`, failing(size)));
      expect(error.message).toMatch(/source died/);
      expect((await storage.read(`${base}/keep.bin`)).toString()).toBe('old version');
      await failureOf(storage.writeStream(`${base}/fresh-${size}.bin`, failing(size)));
      expect(await storage.exists(`${base}/fresh-${size}.bin`)).toBe(false);
    }
    expect((await storage.list(base)).map((e) => e.relativePath)).toEqual(['keep.bin']);
  });

  it('create-only writes refuse to replace an existing object', async () => {
    const base = root();
    await storage.write(`${base}/v1/manifest.json`, 'first', { ifNotExists: true });
    const again = await failureOf(storage.write(`${base}/v1/manifest.json`, 'second', { ifNotExists: true }));
    expect(again.code).toBe('STORAGE_EXISTS');
    expect(again.message).toContain('manifest.json');
    const big = patterned(1536 * 1024);
    const streamed = await failureOf(
      storage.writeStream(`${base}/v1/manifest.json`, Readable.from([big]), { ifNotExists: true }),
    );
    expect(streamed.code).toBe('STORAGE_EXISTS');
    expect((await storage.read(`${base}/v1/manifest.json`)).toString()).toBe('first');
    await storage.writeStream(`${base}/v1/big.bin`, Readable.from([big]), { ifNotExists: true });
    expect((await storage.read(`${base}/v1/big.bin`)).equals(big)).toBe(true);
  });
});
