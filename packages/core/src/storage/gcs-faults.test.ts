import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GcsEmulator } from '../../../../tests/support/gcs-emulator/index.ts';
import { StorageError } from '../errors.ts';
import { createStorage } from './create-storage.ts';

const emulator = new GcsEmulator();
let storage: ReturnType<typeof createStorage>;

beforeAll(async () => {
  const endpoint = await emulator.start();
  emulator.createBucket('faults');
  storage = createStorage({
    gcs: {
      apiEndpoint: endpoint,
      resumableThresholdBytes: 64 * 1024,
      retry: { maxRetries: 3, maxRetryDelaySeconds: 1 },
    },
  });
});
afterEach(() => emulator.clearFaults());
afterAll(() => emulator.stop());

function requestsTo(pattern: RegExp, method: string) {
  return emulator.requests.filter((r) => r.method === method && pattern.test(r.path));
}

async function failureOf(promise: Promise<unknown>): Promise<StorageError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StorageError);
  return error as StorageError;
}

describe('GCS backend under faults', () => {
  it('retries injected 503s on a simple upload and a download, then succeeds', async () => {
    const before = requestsTo(/^\/upload\//, 'POST').length;
    emulator.injectFault({ method: 'POST', path: /^\/upload\//, status: 503, times: 2 });
    await storage.write('gs://faults/retry/a.txt', 'survives 503s');
    const uploads = requestsTo(/^\/upload\//, 'POST').slice(before);
    expect(uploads.map((r) => r.status)).toEqual([503, 503, 200]);

    emulator.injectFault({
      method: 'GET',
      path: /\/o\/retry%2Fa\.txt$|\/o\/retry\/a\.txt$/,
      status: 429,
      times: 1,
    });
    expect((await storage.read('gs://faults/retry/a.txt')).toString()).toBe('survives 503s');
  });

  it('gives up after the retry budget with a clear STORAGE_UNAVAILABLE error', async () => {
    emulator.injectFault({ method: 'POST', path: /^\/upload\//, status: 503, times: 100 });
    const error = await failureOf(storage.write('gs://faults/storm/a.txt', 'never lands'));
    expect(error.code).toBe('STORAGE_UNAVAILABLE');
    expect(error.message).toMatch(/gs:\/\/faults\/storm\/a\.txt.*503/);
    expect(emulator.objectNames('faults')).not.toContain('storm/a.txt');
  });

  it('resumes a resumable upload after a dropped connection', async () => {
    const data = Buffer.alloc(200 * 1024, 7);
    emulator.injectFault({
      method: 'PUT',
      path: /^\/upload\//,
      dropConnectionAfterBytes: 32 * 1024,
      times: 1,
    });
    await storage.write('gs://faults/resume/big.bin', data);
    expect((await storage.read('gs://faults/resume/big.bin')).equals(data)).toBe(true);
    expect(requestsTo(/^\/upload\//, 'PUT').length).toBeGreaterThanOrEqual(2);
  });

  it('leaves no partial object when an upload is interrupted for good', async () => {
    emulator.injectFault({
      method: 'PUT',
      path: /^\/upload\//,
      dropConnectionAfterBytes: 16 * 1024,
      times: 1000,
    });
    const data = Buffer.alloc(300 * 1024, 1);
    const error = await failureOf(storage.write('gs://faults/partial/big.bin', data));
    expect(error.message).toContain('gs://faults/partial/big.bin');
    expect(emulator.objectNames('faults').filter((n) => n.startsWith('partial/'))).toEqual([]);
    expect(await storage.exists('gs://faults/partial/big.bin')).toBe(false);

    emulator.injectFault({
      method: 'PUT',
      path: /^\/upload\//,
      dropConnectionAfterBytes: 16 * 1024,
      times: 1000,
    });
    async function* chunks() {
      for (let i = 0; i < 5; i += 1) yield Buffer.alloc(64 * 1024, i);
    }
    await failureOf(storage.writeStream('gs://faults/partial/streamed.bin', chunks()));
    expect(await storage.list('gs://faults/partial')).toEqual([]);
  });

  it('detects a corrupted download through its checksum', async () => {
    await storage.write('gs://faults/corrupt/blob.bin', Buffer.from('precious bytes'));
    emulator.injectFault({ method: 'GET', path: /corrupt/, corruptBody: true, times: 10 });
    const error = await failureOf(storage.read('gs://faults/corrupt/blob.bin'));
    expect(error.code).toBe('STORAGE_CHECKSUM');
  });

  it('maps 403 to STORAGE_FORBIDDEN with a credentials hint', async () => {
    emulator.injectFault({ method: 'GET', path: /\/o$/, status: 403, times: 1 });
    const error = await failureOf(storage.list('gs://faults/secret'));
    expect(error.code).toBe('STORAGE_FORBIDDEN');
    expect(error.hint).toMatch(/GOOGLE_APPLICATION_CREDENTIALS/);
  });

  it('reports a missing bucket and an unreachable endpoint clearly', async () => {
    expect((await failureOf(storage.read('gs://no-such-bucket/x'))).code).toBe('STORAGE_NOT_FOUND');
    const offline = createStorage({ gcs: { apiEndpoint: 'http://127.0.0.1:9', retry: { maxRetries: 0 } } });
    const error = await failureOf(offline.read('gs://faults/x'));
    expect(error.code).toBe('STORAGE_UNREACHABLE');
  });
});
