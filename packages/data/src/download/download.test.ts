import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { createLogger, DataError, sha256Hex } from '@tfmlops/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { download } from './download.ts';
import { TestFileServer } from './test-file-server.ts';

/** 300 KiB: big enough to arrive in several chunks, small enough to keep the test fast. */
const BODY = randomBytes(300 * 1024);
const SHA = sha256Hex(BODY);

let server: TestFileServer;
let cacheDir: string;
let logLines: Array<Record<string, unknown>>;

function captureLogger() {
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
      done();
    },
  });
  return createLogger({ level: 'debug', pretty: false, destination });
}

/** Options every test shares: fast retries, no progress output. */
function options(extra: Partial<Parameters<typeof download>[1]> = {}) {
  return {
    sha256: SHA,
    cacheDir,
    logger: captureLogger(),
    retryDelayMs: 1,
    progress: 'off' as const,
    ...extra,
  };
}

/** Compares by hash: vitest's deep equality walks a 300 KiB buffer element by element, which takes seconds. */
async function fileSha(path: string): Promise<string> {
  return sha256Hex(await readFile(path));
}

async function closedPortUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}/file.bin`;
}

beforeEach(async () => {
  server = new TestFileServer();
  await server.start();
  cacheDir = await mkdtemp(join(tmpdir(), 'download-test-'));
  logLines = [];
});

afterEach(async () => {
  await server.stop();
  await rm(cacheDir, { recursive: true, force: true });
});

describe('download', () => {
  it('streams a file into the cache, verifies it, and reuses it without a request next time', async () => {
    const url = server.serve('/files/data.bin', { body: BODY });

    const first = await download(url, options());
    expect(first).toEqual({ path: join(cacheDir, 'data.bin'), sha256: SHA, url, cached: false });
    expect(await fileSha(first.path)).toBe(SHA);
    expect(await readdir(cacheDir)).toEqual(['data.bin']);

    const second = await download(url, options());
    expect(second.cached).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it('puts the file at `dest` under the cache directory', async () => {
    const url = server.serve('/x', { body: BODY });
    const result = await download(url, options({ dest: 'nested/dir/renamed.bin' }));
    expect(result.path).toBe(join(cacheDir, 'nested/dir/renamed.bin'));
    expect(await fileSha(result.path)).toBe(SHA);
  });

  it('resumes a dropped connection with a Range request', async () => {
    const url = server.serve('/data.bin', { body: BODY, dropAfter: { bytes: 100_000, times: 1 } });

    const result = await download(url, options());

    expect(await fileSha(result.path)).toBe(SHA);
    expect(server.requests.map((r) => [r.range, r.status])).toEqual([
      [undefined, 200],
      ['bytes=100000-', 206],
    ]);
    expect(logLines.map((line) => line.reason).filter(Boolean)).toEqual([
      'connection closed mid-transfer (UND_ERR_SOCKET)',
    ]);
  });

  it('aborts a transfer that stalls and resumes it', async () => {
    const url = server.serve('/data.bin', { body: BODY, stallAfter: { bytes: 50_000, times: 1 } });

    const result = await download(url, options({ stallTimeoutMs: 300 }));

    expect(await fileSha(result.path)).toBe(SHA);
    expect(server.requests.map((r) => [r.range, r.status])).toEqual([
      [undefined, 200],
      ['bytes=50000-', 206],
    ]);
    expect(logLines.some((line) => String(line.reason).includes('no data received for 300 ms'))).toBe(true);
  });

  it('resumes a .part file left by an earlier, interrupted run', async () => {
    const url = server.serve('/data.bin', { body: BODY });
    await writeFile(join(cacheDir, 'data.bin.part'), BODY.subarray(0, 5000));

    const result = await download(url, options());

    expect(await fileSha(result.path)).toBe(SHA);
    expect(server.requests).toEqual([{ path: '/data.bin', range: 'bytes=5000-', status: 206 }]);
  });

  it('starts over when the server ignores Range and answers 200', async () => {
    const url = server.serve('/data.bin', {
      body: BODY,
      range: false,
      dropAfter: { bytes: 100_000, times: 1 },
    });

    const result = await download(url, options());

    expect(await fileSha(result.path)).toBe(SHA);
    expect(server.requests.map((r) => [r.range, r.status])).toEqual([
      [undefined, 200],
      ['bytes=100000-', 200],
    ]);
  });

  it('downloads whole again when resumed pieces do not add up to the expected file', async () => {
    // A stale .part from some other file: the resumed result is wrong, one clean download fixes it.
    await writeFile(join(cacheDir, 'data.bin.part'), randomBytes(5000));
    const url = server.serve('/data.bin', { body: BODY });

    const result = await download(url, options());

    expect(await fileSha(result.path)).toBe(SHA);
    expect(server.requests.map((r) => r.range)).toEqual(['bytes=5000-', undefined]);
  });

  it('retries 5xx answers with backoff', async () => {
    const url = server.serve('/data.bin', { body: BODY, failWith: { status: 503, times: 2 } });

    const result = await download(url, options());

    expect(await fileSha(result.path)).toBe(SHA);
    expect(server.requests.map((r) => r.status)).toEqual([503, 503, 200]);
    const retries = logLines.filter((line) => String(line.message).includes('retrying'));
    expect(retries.map((line) => line.delayMs)).toEqual([1, 2]);
  });

  it('gives up on a URL after `retries` failures and moves on to the next mirror', async () => {
    const bad = server.serve('/bad.bin', { body: BODY, failWith: { status: 500, times: 99 } });
    const good = server.serve('/good.bin', { body: BODY });

    const result = await download([bad, good], options({ retries: 2, dest: 'data.bin' }));

    expect(result.url).toBe(good);
    expect(server.requests.map((r) => `${r.path} ${r.status}`)).toEqual([
      '/bad.bin 500',
      '/bad.bin 500',
      '/bad.bin 500',
      '/good.bin 200',
    ]);
  });

  it('does not retry a 404 and tries the next mirror', async () => {
    const good = server.serve('/data.bin', { body: BODY });
    const gone = good.replace('data.bin', 'gone.bin');
    const result = await download([gone, good], options({ dest: 'data.bin' }));
    expect(result.url).toBe(good);
    expect(server.requests.map((r) => r.status)).toEqual([404, 200]);
  });

  it('rejects a wrong checksum naming URL, expected and actual hash, and removes the temp file', async () => {
    const other = randomBytes(1000);
    const url = server.serve('/data.bin', { body: other });

    const error = await download(url, options()).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).code).toBe('DATA_CHECKSUM_MISMATCH');
    expect((error as DataError).message).toContain(url);
    expect((error as DataError).message).toContain(SHA);
    expect((error as DataError).message).toContain(sha256Hex(other));
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('replaces a cached file whose checksum is wrong', async () => {
    await writeFile(join(cacheDir, 'data.bin'), 'corrupted');
    const url = server.serve('/data.bin', { body: BODY });

    const result = await download(url, options());

    expect(result.cached).toBe(false);
    expect(await fileSha(result.path)).toBe(SHA);
  });

  it('says which URLs failed and where to put the file by hand when every mirror is down', async () => {
    const refused = await closedPortUrl();
    const notFound = server.serve('/served.bin', { body: BODY }).replace('served.bin', 'file.bin');

    const error = await download([refused, notFound], options({ retries: 1 })).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DataError);
    const dataError = error as DataError;
    expect(dataError.code).toBe('DATA_DOWNLOAD_FAILED');
    expect(dataError.message).toContain(`${refused}: connection refused (ECONNREFUSED)`);
    expect(dataError.message).toContain(`${notFound}: HTTP 404`);
    expect(dataError.hint).toContain(join(cacheDir, 'file.bin'));
    expect(dataError.hint).toContain(SHA);
  });

  it('rejects a malformed expected hash before any request', async () => {
    const url = server.serve('/data.bin', { body: BODY });
    await expect(download(url, options({ sha256: 'abc' }))).rejects.toMatchObject({
      code: 'DATA_BAD_CHECKSUM',
    });
    expect(server.requests).toEqual([]);
  });

  it('logs a progress line every N percent when not on a TTY', async () => {
    const url = server.serve('/data.bin', { body: BODY });

    await download(url, options({ progress: { mode: 'log', logEveryPercent: 25 } }));

    const percents = logLines.filter((line) => line.percent !== undefined).map((line) => line.percent);
    expect(percents.at(-1)).toBe(100);
    expect(percents.length).toBeGreaterThanOrEqual(2);
    expect(percents.length).toBeLessThanOrEqual(4);
    expect(logLines.find((line) => line.percent !== undefined)).toHaveProperty('bytesPerSecond');
  });

  it('draws a bar with speed and ETA on a TTY stream', async () => {
    const url = server.serve('/data.bin', { body: BODY });
    const tty = Object.assign(new PassThrough(), { isTTY: true, columns: 120 });
    let drawn = '';
    tty.on('data', (chunk) => {
      drawn += String(chunk);
    });

    await download(url, options({ progress: { mode: 'bar', stream: tty } }));

    expect(drawn).toContain('data.bin [');
    expect(drawn).toContain('300.0 KiB/300.0 KiB');
    expect(drawn).toMatch(/\/s \| ETA /);
  });
});
