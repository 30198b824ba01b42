import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32cBase64, GcsEmulator } from '../../../../tests/support/gcs-emulator/index.ts';
import { StorageError } from '../errors.ts';
import { createStorage } from './create-storage.ts';
import type { Storage } from './types.ts';

/** How the GCS backend uses the API: which upload protocol, pagination, server-side copies, endpoint handling. */
const emulator = new GcsEmulator();
const BUCKET = 'shapes';
let storage: Storage;

beforeAll(async () => {
  const endpoint = await emulator.start();
  emulator.createBucket(BUCKET);
  emulator.createBucket('other-bucket');
  storage = createStorage({
    gcs: {
      apiEndpoint: endpoint,
      resumableThresholdBytes: 512 * 1024,
      resumableChunkBytes: 256 * 1024,
      listPageSize: 2,
      retry: { maxRetries: 1, maxRetryDelaySeconds: 1 },
    },
  });
});
afterAll(() => emulator.stop());

async function logged(action: () => Promise<unknown>) {
  const start = emulator.requests.length;
  await action();
  return emulator.requests.slice(start);
}

describe('GCS backend: API usage', () => {
  it('uploads small objects in one multipart request and large ones in resumable chunks', async () => {
    const small = await logged(() => storage.write(`gs://${BUCKET}/up/small.bin`, Buffer.alloc(1000, 1)));
    expect(small.map((r) => [r.method, r.query.uploadType])).toEqual([['POST', 'multipart']]);

    const big = Buffer.alloc(700 * 1024, 2);
    const large = await logged(() => storage.write(`gs://${BUCKET}/up/large.bin`, big));
    expect(large[0]).toMatchObject({ method: 'POST', query: { uploadType: 'resumable' } });
    // 700 KiB in 256 KiB chunks: two intermediate chunks answered 308, the last one 200.
    expect(large.slice(1).map((r) => [r.method, r.status, r.contentRange])).toEqual([
      ['PUT', 308, `bytes 0-262143/${big.length}`],
      ['PUT', 308, `bytes 262144-524287/${big.length}`],
      ['PUT', 200, `bytes 524288-716799/${big.length}`],
    ]);
    expect(emulator.objectData(BUCKET, 'up/large.bin')?.equals(big)).toBe(true);

    // A short stream is buffered and sent like a small buffer; a long one streams through a session.
    const shortStream = await logged(() =>
      storage.writeStream(`gs://${BUCKET}/up/short-stream.txt`, Readable.from(['a', 'b'])),
    );
    expect(shortStream.map((r) => r.query.uploadType)).toEqual(['multipart']);
    const longStream = await logged(() =>
      storage.writeStream(`gs://${BUCKET}/up/long-stream.bin`, Readable.from([big, big])),
    );
    expect(longStream[0]?.query.uploadType).toBe('resumable');
    expect(longStream.at(-1)?.contentRange).toBe(`bytes 1310720-1433599/${2 * big.length}`);
    expect(emulator.objectData(BUCKET, 'up/long-stream.bin')?.equals(Buffer.concat([big, big]))).toBe(true);
  });

  it('stores the object with the CRC32C the SDK expects', async () => {
    await storage.write(`gs://${BUCKET}/up/hash.txt`, 'The quick brown fox', { contentType: 'text/plain' });
    const data = emulator.objectData(BUCKET, 'up/hash.txt')!;
    expect(crc32cBase64(data)).toBe(crc32cBase64(Buffer.from('The quick brown fox')));
    // Known CRC32C test vector ("123456789" -> 0xE3069283), so the emulator's checksum is independently right.
    expect(Buffer.from(crc32cBase64(Buffer.from('123456789')), 'base64').toString('hex')).toBe('e3069283');
  });

  it('lists page by page and copies between buckets server-side', async () => {
    for (const name of ['a', 'b', 'c', 'd', 'e']) await storage.write(`gs://${BUCKET}/paged/${name}`, name);
    const requests = await logged(async () => {
      const entries = await storage.list(`gs://${BUCKET}/paged`);
      expect(entries.map((e) => e.relativePath)).toEqual(['a', 'b', 'c', 'd', 'e']);
    });
    expect(requests.map((r) => r.query.pageToken !== undefined)).toEqual([false, true, true]);

    const copy = await logged(() => storage.copyTree(`gs://${BUCKET}/paged`, 'gs://other-bucket/copied'));
    expect(copy.filter((r) => r.path.includes('/rewriteTo/'))).toHaveLength(5);
    expect(copy.filter((r) => r.query.alt === 'media')).toEqual([]);
    expect(emulator.objectNames('other-bucket')).toEqual([
      'copied/a',
      'copied/b',
      'copied/c',
      'copied/d',
      'copied/e',
    ]);
    expect((await storage.list('gs://other-bucket')).map((e) => e.uri)).toContain(
      'gs://other-bucket/copied/e',
    );
  });

  it('concurrent create-only writes: exactly one wins', async () => {
    const results = await Promise.allSettled(
      ['one', 'two', 'three'].map((v) => storage.write(`gs://${BUCKET}/race/v1`, v, { ifNotExists: true })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as StorageError] : []));
    expect(won).toHaveLength(1);
    expect(lost.map((e) => e.code)).toEqual(['STORAGE_EXISTS', 'STORAGE_EXISTS']);
  });
});

describe('GCS backend: endpoint and options', () => {
  it('an explicit apiEndpoint wins over STORAGE_EMULATOR_HOST, and a bare host:port means http', async () => {
    const saved = process.env.STORAGE_EMULATOR_HOST;
    // The SDK reads this variable itself; pointed at nothing, it must not divert our calls.
    process.env.STORAGE_EMULATOR_HOST = 'http://127.0.0.1:9';
    try {
      const bare = createStorage({ gcs: { apiEndpoint: emulator.endpoint.replace('http://', '') } });
      await bare.write(`gs://${BUCKET}/endpoint/x.txt`, 'via host:port');
      expect((await bare.read(`gs://${BUCKET}/endpoint/x.txt`)).toString()).toBe('via host:port');
      expect(await bare.list(`gs://${BUCKET}/endpoint`)).toHaveLength(1);
    } finally {
      if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
      else process.env.STORAGE_EMULATOR_HOST = saved;
    }
  });

  it('rejects a resumable chunk size GCS would refuse, on first use', async () => {
    const bad = createStorage({ gcs: { apiEndpoint: emulator.endpoint, resumableChunkBytes: 1000 } });
    const error = await bad.exists(`gs://${BUCKET}/x`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).code).toBe('STORAGE_BAD_OPTIONS');
    expect((error as StorageError).hint).toMatch(/262144/);
  });
});
