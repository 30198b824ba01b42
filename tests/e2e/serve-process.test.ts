/**
 * The service as a real process (server.ts under node + tsx, as the API image runs it): loading from a GCS bucket
 * (the emulator) through the verified cache, draining in-flight requests on SIGTERM, and refusing to start on a
 * damaged bundle or a bad environment.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createStorage, type Storage } from '@tfmlops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsEmulator } from '../support/gcs-emulator/index.ts';
import { type ServerProcess, startServerProcess } from '../support/serve/server-process.ts';
import {
  halfImage,
  publishTinyBundle,
  trainTinyModel,
  useWasmBackend,
} from '../support/serve/tiny-bundle.ts';

const storage = createStorage();
let dir: string;
let trained: tfl.LayersModel;
let localLatest: string;
const servers: ServerProcess[] = [];

function start(env: Record<string, string>): ServerProcess {
  const server = startServerProcess({ LOG_LEVEL: 'info', ...env });
  servers.push(server);
  return server;
}

async function predict(port: number, half: 'top' | 'bottom') {
  const response = await fetch(`http://127.0.0.1:${port}/predict`, {
    method: 'POST',
    body: await halfImage(half),
    headers: { 'content-type': 'image/png' },
  });
  return {
    status: response.status,
    body: (await response.json()) as { predictions: Array<{ label: string }> },
  };
}

beforeAll(async () => {
  await useWasmBackend();
  dir = mkdtempSync(join(tmpdir(), 'serve-process-'));
  trained = await trainTinyModel();
  localLatest = (await publishTinyBundle(join(dir, 'staging'), join(dir, 'models'), trained, storage))
    .latestUri!;
});

afterAll(() => {
  for (const server of servers) server.kill();
  trained?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('server.ts as a process', () => {
  it('loads a bundle from a GCS bucket (emulator) through the verified local cache and serves it', async () => {
    const emulator = new GcsEmulator();
    const endpoint = await emulator.start();
    try {
      emulator.createBucket('models');
      const gcs: Storage = createStorage({ gcs: { apiEndpoint: endpoint, projectId: 'test' } });
      const published = await publishTinyBundle(join(dir, 'staging-gcs'), 'gs://models/prod', trained, gcs);
      const cacheDir = join(dir, 'cache');
      const server = start({
        MODEL_URI: 'gs://models/prod/tiny/latest.json',
        STORAGE_EMULATOR_HOST: endpoint,
        MODEL_CACHE_DIR: cacheDir,
      });
      await server.waitReady();
      const port = await server.port;
      const answer = await predict(port, 'top');
      expect(answer.status).toBe(200);
      expect(answer.body.predictions[0]!.label).toBe('top');
      const shardDownloads = emulator.requests.filter(
        (r) => r.query.alt === 'media' && r.path.includes('group1-shard1of1.bin'),
      );
      expect(shardDownloads.length).toBeGreaterThan(0);
      const version = published.manifest.version;
      expect(existsSync(join(cacheDir, 'tiny', version, 'group1-shard1of1.bin'))).toBe(true);
      const ready = server.logs.find((line) => line.message === 'model loaded and warmed up; ready');
      expect(ready).toMatchObject({ severity: 'INFO', version, bundle: `gs://models/prod/tiny/${version}` });
      server.child.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    } finally {
      await emulator.stop();
    }
  });

  it('on SIGTERM stops accepting, finishes the request in flight, and exits 0 well within 10 s', async () => {
    const server = start({ MODEL_URI: localLatest });
    await server.waitReady();
    const port = await server.port;
    const image = await halfImage('bottom');
    const half = Math.floor(image.length / 2);

    // A request whose body is only half sent: in flight when SIGTERM arrives.
    const socket = connect(port, '127.0.0.1');
    let response = '';
    socket.on('data', (chunk) => {
      response += chunk.toString('utf8');
    });
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      `POST /predict?top_k=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: ${image.length}\r\n\r\n`,
    );
    socket.write(image.subarray(0, half));
    await new Promise((resolve) => setTimeout(resolve, 300));

    const signalled = Date.now();
    server.child.kill('SIGTERM');
    await waitFor(() =>
      server.logs.some((line) => line.message === 'shutting down: draining in-flight requests'),
    );
    // Not ready any more, and no new connections.
    const refused = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      () => 'answered',
      (error: Error) => String((error.cause as { code?: string } | undefined)?.code ?? error.message),
    );
    expect(refused).toBe('ECONNREFUSED');

    socket.write(image.subarray(half));
    await closed;
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    expect(response.toLowerCase()).toContain('connection: close');
    expect(response).toContain('"label":"bottom"');
    const { code } = await server.exited;
    expect(code).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(10_000);
    expect(server.logs.some((line) => line.message === 'stopped')).toBe(true);
    // Every line logged for a request carries its id.
    const requestLines = server.logs.filter((line) => 'httpRequest' in line);
    expect(requestLines.length).toBeGreaterThan(0);
    expect(requestLines.every((line) => typeof line.requestId === 'string')).toBe(true);
  });

  it('refuses to start on a bundle whose shard was damaged: a clear log line and exit code 1', async () => {
    const staging = join(dir, 'staging-bad');
    const published = await publishTinyBundle(staging, join(dir, 'bad-models'), trained, storage);
    const shard = join(published.uri, 'group1-shard1of1.bin');
    const bytes = readFileSync(shard);
    bytes[3] = (bytes[3] as number) ^ 0xff;
    writeFileSync(shard, bytes);
    const server = start({ MODEL_URI: published.latestUri! });
    const { code } = await server.exited;
    expect(code).toBe(1);
    const fatal = server.logs.find((line) => line.severity === 'CRITICAL');
    expect(fatal?.message).toBe('the inference service cannot start');
    expect(String(fatal?.error)).toContain('MODEL_CHECKSUM_MISMATCH');
    expect(String(fatal?.error)).toContain('group1-shard1of1.bin');
  });

  it('refuses a bad environment with exit code 2, naming the variable', async () => {
    const server = start({ MODEL_URI: localLatest, MAX_BATCH: 'lots' });
    const { code } = await server.exited;
    expect(code).toBe(2);
    expect(server.stderr()).toContain('MAX_BATCH="lots": a whole number');
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
