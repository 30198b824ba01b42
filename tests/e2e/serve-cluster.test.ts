/**
 * SERVE_WORKERS=2: the service as a node:cluster primary with two workers sharing the port (packages/serve/src/
 * cluster.ts). Both workers answer predictions, an admin reload reaches both, SIGTERM drains every worker and the
 * primary exits 0; a worker that cannot start stops the whole service with exit code 1.
 *
 * It runs the esbuild bundle (what the API image runs; cluster.fork re-runs that same file in each worker), built
 * into a directory of its own so it never races serve-build.test.ts over dist/server.cjs. Under tsx the same test
 * takes ~4x longer (every worker compiles the sources again); `pnpm serve` with SERVE_WORKERS=2 forks the same way,
 * with tsx's loader flags passed on in execArgv.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createStorage } from '@tfmlops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../packages/serve/scripts/build.ts';
import { type ServerProcess, startServerProcess } from '../support/serve/server-process.ts';
import {
  halfImage,
  publishTinyBundle,
  trainTinyModel,
  useWasmBackend,
} from '../support/serve/tiny-bundle.ts';

const storage = createStorage();
const ADMIN_TOKEN = 'cluster-test-token-0123456789';
let dir: string;
let trained: tfl.LayersModel;
const servers: ServerProcess[] = [];
/** Inside packages/serve (its node_modules and public/ are found from there), git-ignored with dist/. */
const BUILD_DIR = join(import.meta.dirname, '..', '..', 'packages', 'serve', 'dist', 'cluster-test');
let bundle: { bundle: string };

beforeAll(async () => {
  await useWasmBackend();
  dir = mkdtempSync(join(tmpdir(), 'serve-cluster-'));
  const [model, built] = await Promise.all([trainTinyModel(), buildServer(join(BUILD_DIR, 'server.cjs'))]);
  trained = model;
  bundle = { bundle: built };
});

afterAll(() => {
  for (const server of servers) server.kill();
  trained?.dispose();
  rmSync(dir, { recursive: true, force: true });
  rmSync(BUILD_DIR, { recursive: true, force: true });
});

/** One request on a connection of its own (no keep-alive), so the primary's round-robin picks a worker for each. */
function send(
  port: number,
  method: string,
  path: string,
  body: Buffer | undefined,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, agent: false, headers: { connection: 'close', ...headers } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The pids of the processes that logged `message` (workers log with their own pid). */
function pidsLogging(
  server: ServerProcess,
  message: string,
  extra: (line: Record<string, unknown>) => boolean = () => true,
) {
  return new Set(
    server.logs.filter((line) => line.message === message && extra(line)).map((line) => line.pid),
  );
}

describe('SERVE_WORKERS=2 (node:cluster)', () => {
  it('serves from both workers, passes an admin reload to both, and on SIGTERM drains each worker; the primary exits 0', async () => {
    const models = join(dir, 'models');
    const latest = (await publishTinyBundle(join(dir, 'staging'), models, trained, storage)).latestUri!;
    const server = startServerProcess({ MODEL_URI: latest, SERVE_WORKERS: '2', ADMIN_TOKEN }, bundle);
    servers.push(server);
    await server.waitReady();
    const port = await server.port;
    const primary = server.child.pid;
    // Ready means one worker is; wait for the primary to hear from both.
    await waitFor(() => server.logs.some((line) => line.message === 'all workers ready'));
    const workers = pidsLogging(server, 'worker ready');
    expect(workers.size).toBe(2);
    expect(workers.has(primary)).toBe(false);
    // Only the workers load a model; the primary loads no TF.js at all.
    expect(pidsLogging(server, 'model loaded and warmed up; ready')).toEqual(
      new Set(server.logs.filter((line) => line.message === 'worker ready').map((line) => line.pid)),
    );

    const image = await halfImage('bottom');
    for (let i = 0; i < 8; i += 1) {
      const answer = await send(port, 'POST', '/predict?top_k=1', image, { 'content-type': 'image/png' });
      expect(answer.status).toBe(200);
      expect(answer.body).toContain('"label":"bottom"');
    }
    const answered = pidsLogging(
      server,
      'request completed',
      (line) => (line.httpRequest as { requestUrl?: string }).requestUrl === '/predict?top_k=1',
    );
    expect(answered.size).toBe(2);

    // A new bundle, reloaded through one worker: the other follows.
    const next = await publishTinyBundle(join(dir, 'staging-2'), models, trained, storage);
    const reload = await send(port, 'POST', '/admin/reload', undefined, {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(reload.status, reload.body).toBe(200);
    expect(JSON.parse(reload.body)).toMatchObject({ status: 'swapped' });
    await waitFor(() => pidsLogging(server, 'new model swapped in').size === 2);
    for (const line of server.logs.filter((entry) => entry.message === 'new model swapped in')) {
      expect(line.version).toBe(next.manifest.version);
    }

    // A request in flight on one worker when SIGTERM reaches the primary.
    const socket = connect(port, '127.0.0.1');
    let response = '';
    socket.on('data', (chunk) => {
      response += chunk.toString('utf8');
    });
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const half = Math.floor(image.length / 2);
    socket.write(
      `POST /predict?top_k=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: ${image.length}\r\n\r\n`,
    );
    socket.write(image.subarray(0, half));
    await new Promise((resolve) => setTimeout(resolve, 300));

    const signalled = Date.now();
    server.child.kill('SIGTERM');
    await waitFor(() => pidsLogging(server, 'shutting down: draining in-flight requests').size === 2);
    socket.write(image.subarray(half));
    await closed;
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    expect(response).toContain('"label":"bottom"');

    const { code } = await server.exited;
    expect(code).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(10_000);
    expect(pidsLogging(server, 'stopped')).toEqual(workers);
    const exits = server.logs.filter((line) => line.message === 'worker exited');
    expect(exits.map((line) => line.code)).toEqual([0, 0]);
  });

  it('stops the whole service with exit code 1 when a worker cannot start (a damaged bundle)', async () => {
    const published = await publishTinyBundle(join(dir, 'staging-bad'), join(dir, 'bad'), trained, storage);
    const shard = join(published.uri, 'group1-shard1of1.bin');
    const bytes = readFileSync(shard);
    bytes[3] = (bytes[3] as number) ^ 0xff;
    writeFileSync(shard, bytes);
    const server = startServerProcess({ MODEL_URI: published.latestUri!, SERVE_WORKERS: '2' }, bundle);
    servers.push(server);
    const { code } = await server.exited;
    expect(code).toBe(1);
    const stopping = server.logs.find(
      (line) => line.message === 'a worker failed to start; stopping the service',
    );
    expect(stopping?.pid).toBe(server.child.pid);
    const fatal = server.logs.find((line) => line.message === 'the inference service cannot start');
    expect(String(fatal?.error)).toContain('MODEL_CHECKSUM_MISMATCH');
    expect(server.logs.some((line) => line.message === 'worker ready')).toBe(false);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
