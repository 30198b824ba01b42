/**
 * The built service (packages/serve/scripts/build.ts -> dist/server.cjs, one CommonJS file): it starts, serves
 * predictions, the page and the docs, and drains on SIGTERM, like the TypeScript entry point.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createStorage } from '@tfmlops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../packages/serve/scripts/build.ts';
import { SERVER_BUNDLE, type ServerProcess, startServerProcess } from '../support/serve/server-process.ts';
import {
  halfImage,
  publishTinyBundle,
  trainTinyModel,
  useWasmBackend,
} from '../support/serve/tiny-bundle.ts';

const storage = createStorage();
let dir: string;
let trained: tfl.LayersModel;
let server: ServerProcess | undefined;

beforeAll(async () => {
  await useWasmBackend();
  dir = mkdtempSync(join(tmpdir(), 'serve-build-'));
  trained = await trainTinyModel();
});

afterAll(() => {
  server?.kill();
  trained?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('the built service (dist/server.cjs)', () => {
  it('builds, starts, answers /predict, / and /docs, and exits 0 on SIGTERM', async () => {
    expect(await buildServer()).toBe(SERVER_BUNDLE);
    const published = await publishTinyBundle(join(dir, 'staging'), join(dir, 'models'), trained, storage);
    server = startServerProcess({ MODEL_URI: published.latestUri! }, 'bundle');
    await server.waitReady();
    const port = await server.port;
    const response = await fetch(`http://127.0.0.1:${port}/predict?top_k=1`, {
      method: 'POST',
      body: await halfImage('top', { format: 'jpeg', size: 40 }),
      headers: { 'content-type': 'image/jpeg' },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { predictions: Array<{ label: string }> }).predictions[0]!.label).toBe(
      'top',
    );
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/docs/`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/docs/static/index.css`)).status).toBe(200);
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    expect(server.logs.some((line) => line.message === 'model loaded and warmed up; ready')).toBe(true);
  });
});
