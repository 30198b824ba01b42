import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GcsEmulator } from '../../../../tests/support/gcs-emulator/index.ts';
import { StorageError } from '../errors.ts';
import { createStorage } from './create-storage.ts';
import type { Storage } from './types.ts';

/**
 * The GCS backend under network and service faults, injected by the emulator. Retries wait at least 1 s (the
 * SDK's floor for whole-request retries), so budgets here are small.
 */
const emulator = new GcsEmulator();
const BUCKET = 'faults';
let storage: Storage;

beforeAll(async () => {
  const endpoint = await emulator.start();
  emulator.createBucket(BUCKET);
  storage = createStorage({
    gcs: {
      apiEndpoint: endpoint,
      resumableThresholdBytes: 512 * 1024,
      resumableChunkBytes: 256 * 1024,
      retry: { maxRetries: 2, maxRetryDelaySeconds: 1, retryDelayMultiplier: 1 },
    },
  });
});
afterEach(() => emulator.clearFaults());
afterAll(() => emulator.stop());

function patterned(size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += 1) out[i] = (i * 13 + (i >> 10)) & 0xff;
  return out;
}

/** Requests logged while `action` ran. */
async function logged(action: () => Promise<unknown>) {
  const start = emulator.requests.length;
  const outcome = await action().then(
    () => undefined,
    (error: unknown) => error,
  );
  return { requests: emulator.requests.slice(start), error: outcome as StorageError | undefined };
}

function assertStorageError(error: unknown): asserts error is StorageError {
  expect(error).toBeInstanceOf(StorageError);
}

describe('GCS backend: retries', () => {
  it('retries 503s on a simple upload and a 429 on a download, then succeeds', async () => {
    emulator.injectFault({ method: 'POST', path: '/upload/', status: 503, times: 2 });
    const upload = await logged(() => storage.write(`gs://${BUCKET}/retry/a.txt`, 'survives 503s'));
    expect(upload.error).toBeUndefined();
    expect(upload.requests.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(upload.requests.every((r) => r.query.uploadType === 'multipart')).toBe(true);

    emulator.injectFault({ method: 'GET', query: { alt: 'media' }, status: 429 });
    const download = await logged(() => storage.read(`gs://${BUCKET}/retry/a.txt`));
    expect(download.error).toBeUndefined();
    expect(download.requests.map((r) => r.status)).toEqual([429, 200]);
    expect(emulator.objectData(BUCKET, 'retry/a.txt')?.toString()).toBe('survives 503s');
  });

  it('gives up after the retry budget with STORAGE_UNAVAILABLE, leaving nothing behind', async () => {
    emulator.injectFault({ method: 'POST', path: '/upload/', status: 503, times: Number.POSITIVE_INFINITY });
    const { requests, error } = await logged(() =>
      storage.write(`gs://${BUCKET}/storm/a.txt`, 'never lands'),
    );
    assertStorageError(error);
    expect(error.code).toBe('STORAGE_UNAVAILABLE');
    expect(error.message).toMatch(/gs:\/\/faults\/storm\/a\.txt.*503/);
    expect(requests).toHaveLength(3);
    expect(emulator.objectNames(BUCKET).filter((n) => n.startsWith('storm/'))).toEqual([]);
  });

  it('makes exactly one attempt when maxRetries is 0', async () => {
    const once = createStorage({ gcs: { apiEndpoint: emulator.endpoint, retry: { maxRetries: 0 } } });
    emulator.injectFault({ method: 'GET', status: 503, times: Number.POSITIVE_INFINITY });
    const answered = await logged(() => once.exists(`gs://${BUCKET}/any`));
    assertStorageError(answered.error);
    expect(answered.error.code).toBe('STORAGE_UNAVAILABLE');
    expect(answered.requests).toHaveLength(1);

    emulator.clearFaults();
    emulator.injectFault({ method: 'GET', dropConnection: true, times: Number.POSITIVE_INFINITY });
    const dropped = await logged(() => once.exists(`gs://${BUCKET}/any`));
    assertStorageError(dropped.error);
    expect(dropped.error.code).toBe('STORAGE_UNREACHABLE');
    expect(dropped.requests).toHaveLength(1);
  });
});

describe('GCS backend: interrupted uploads', () => {
  it('resumes a resumable upload after the connection drops mid-chunk', async () => {
    const data = patterned(1024 * 1024 + 100);
    emulator.injectFault({
      method: 'PUT',
      query: { uploadType: 'resumable' },
      dropConnection: true,
      afterBytes: 100_000,
    });
    const { requests, error } = await logged(() => storage.write(`gs://${BUCKET}/resume/buffer.bin`, data));
    expect(error).toBeUndefined();
    expect(emulator.objectData(BUCKET, 'resume/buffer.bin')?.equals(data)).toBe(true);
    const puts = requests.filter((r) => r.method === 'PUT');
    expect(puts[0]?.outcome).toBe('dropped');
    // After the drop the SDK asks the session what it has ("bytes */*") before sending again.
    expect(puts.some((r) => r.contentRange === 'bytes */*')).toBe(true);
  });

  it('resumes a streamed multi-chunk upload from the last persisted chunk', async () => {
    const data = patterned(1300 * 1024);
    // The second chunk is cut after 300 KiB arrived: the server keeps its first 256 KiB, the SDK re-sends the rest.
    emulator.injectFault({
      method: 'PUT',
      query: { uploadType: 'resumable' },
      path: '/upload/',
      dropConnection: true,
      afterBytes: 300 * 1024,
    });
    const { requests, error } = await logged(() =>
      storage.writeStream(`gs://${BUCKET}/resume/stream.bin`, Readable.from([data])),
    );
    expect(error).toBeUndefined();
    expect(emulator.objectData(BUCKET, 'resume/stream.bin')?.equals(data)).toBe(true);
    expect(requests.filter((r) => r.outcome === 'dropped')).toHaveLength(1);
  });

  it('leaves no partial object when an upload is interrupted for good', async () => {
    const drop = {
      method: 'PUT',
      dropConnection: true,
      afterBytes: 16 * 1024,
      times: Number.POSITIVE_INFINITY,
    };
    emulator.injectFault(drop);
    const error = await storage
      .write(`gs://${BUCKET}/partial/big.bin`, patterned(700 * 1024))
      .catch((e) => e);
    assertStorageError(error);
    expect(error.message).toContain('gs://faults/partial/big.bin');

    const streamed = await storage
      .writeStream(`gs://${BUCKET}/partial/streamed.bin`, Readable.from([patterned(900 * 1024)]))
      .catch((e) => e);
    assertStorageError(streamed);
    expect(await storage.list(`gs://${BUCKET}/partial`)).toEqual([]);
    expect(await storage.exists(`gs://${BUCKET}/partial/big.bin`)).toBe(false);
  });

  it('a create-only upload whose response was lost succeeds on retry instead of reporting a conflict', async () => {
    emulator.injectFault({ method: 'POST', query: { uploadType: 'multipart' }, dropResponse: true });
    const { requests, error } = await logged(() =>
      storage.write(`gs://${BUCKET}/lost/manifest.json`, '{"v":1}', { ifNotExists: true }),
    );
    expect(error).toBeUndefined();
    // First attempt landed but its answer was lost; the retry met its own object (412) and recognised it.
    expect(requests.map((r) => r.status)).toEqual([0, 412, 200]);
    const conflict = await storage
      .write(`gs://${BUCKET}/lost/manifest.json`, '{"v":2}', { ifNotExists: true })
      .catch((e) => e);
    assertStorageError(conflict);
    expect(conflict.code).toBe('STORAGE_EXISTS');
    expect(emulator.objectData(BUCKET, 'lost/manifest.json')?.toString()).toBe('{"v":1}');
  });
});

describe('GCS backend: integrity', () => {
  it('GCS rejects an upload corrupted in transit before it exists; the old version survives', async () => {
    await storage.write(`gs://${BUCKET}/integrity/model.bin`, 'version 1');
    emulator.injectFault({
      method: 'POST',
      path: '/upload/',
      corruptUpload: true,
      times: Number.POSITIVE_INFINITY,
    });
    const { requests, error } = await logged(() =>
      storage.write(`gs://${BUCKET}/integrity/model.bin`, 'version 2'),
    );
    assertStorageError(error);
    expect(error.code).toBe('STORAGE_CHECKSUM');
    expect(requests.map((r) => r.status)).toEqual([400]);
    expect(emulator.objectData(BUCKET, 'integrity/model.bin')?.toString()).toBe('version 1');
  });

  it('a corrupted streamed upload is detected and not kept', async () => {
    emulator.injectFault({ method: 'PUT', path: '/upload/', corruptUpload: true });
    const error = await storage
      .writeStream(`gs://${BUCKET}/integrity/streamed.bin`, Readable.from([patterned(600 * 1024)]))
      .catch((e) => e);
    assertStorageError(error);
    expect(error.code).toBe('STORAGE_CHECKSUM');
    expect(await storage.exists(`gs://${BUCKET}/integrity/streamed.bin`)).toBe(false);
  });

  it('detects a corrupted download; a transient corruption is fetched again', async () => {
    const data = patterned(64 * 1024);
    emulator.putObject(BUCKET, 'integrity/blob.bin', data);
    const media = { method: 'GET', path: 'integrity', query: { alt: 'media' }, corruptDownload: true };
    emulator.injectFault({ ...media, times: Number.POSITIVE_INFINITY });
    const { requests, error } = await logged(() => storage.read(`gs://${BUCKET}/integrity/blob.bin`));
    assertStorageError(error);
    expect(error.code).toBe('STORAGE_CHECKSUM');
    expect(requests).toHaveLength(3);

    const stream = await storage.readStream(`gs://${BUCKET}/integrity/blob.bin`);
    const streamError = await (async () => {
      for await (const _ of stream);
    })().catch((e) => e);
    assertStorageError(streamError);
    expect(streamError.code).toBe('STORAGE_CHECKSUM');

    emulator.clearFaults();
    emulator.injectFault(media);
    expect((await storage.read(`gs://${BUCKET}/integrity/blob.bin`)).equals(data)).toBe(true);
  });

  it('re-reads a download cut short mid-body', async () => {
    const data = patterned(200 * 1024);
    emulator.putObject(BUCKET, 'integrity/cut.bin', data);
    // Its own client with a short stall timeout, so no other test can trip it on a busy machine.
    const watched = createStorage({
      gcs: {
        apiEndpoint: emulator.endpoint,
        stallTimeoutMs: 1000,
        retry: { maxRetries: 2, maxRetryDelaySeconds: 1 },
      },
    });
    emulator.injectFault({ method: 'GET', query: { alt: 'media' }, dropResponseAfterBytes: 50_000 });
    const { requests, error } = await logged(() => watched.read(`gs://${BUCKET}/integrity/cut.bin`));
    expect(error).toBeUndefined();
    expect(requests.map((r) => r.outcome)).toEqual(['dropped', 'answered']);
  });
});

describe('GCS backend: errors name the cause', () => {
  it('maps 403 to STORAGE_FORBIDDEN with a credentials hint', async () => {
    emulator.injectFault({ method: 'GET', path: /\/o$/, status: 403 });
    const error = await storage.list(`gs://${BUCKET}/secret`).catch((e) => e);
    assertStorageError(error);
    expect(error.code).toBe('STORAGE_FORBIDDEN');
    expect(error.hint).toMatch(/GOOGLE_APPLICATION_CREDENTIALS/);
  });

  it('reports a missing bucket and an unreachable endpoint clearly', async () => {
    const missing = await storage.read('gs://no-such-bucket/x').catch((e) => e);
    assertStorageError(missing);
    expect(missing.code).toBe('STORAGE_NOT_FOUND');
    const offline = createStorage({ gcs: { apiEndpoint: 'http://127.0.0.1:9', retry: { maxRetries: 0 } } });
    for (const attempt of [
      () => offline.read(`gs://${BUCKET}/x`),
      () => offline.write(`gs://${BUCKET}/x`, 'x'),
    ]) {
      const error = await attempt().catch((e) => e);
      assertStorageError(error);
      expect(error.code).toBe('STORAGE_UNREACHABLE');
      expect(error.hint).toMatch(/endpoint/);
    }
  });
});
