/**
 * The built service (packages/serve/scripts/build.ts -> dist/server.cjs, one CommonJS file): it starts, serves
 * predictions, the page and the docs, and drains on SIGTERM, like the TypeScript entry point (SERVE_WORKERS in the bundle:
 * serve-cluster.test.ts).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createStorage } from '@tfmlops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../packages/serve/scripts/build.ts';
import { SERVER_BUNDLE, type ServerProcess, startServerProcess } from '../support/serve/server-process.ts';
import {
  halfImage,
  halfPixels,
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
  it('builds, starts, answers /predict, / and /docs, runs its drift worker, and on SIGTERM flushes the prediction log and exits 0', async () => {
    expect(await buildServer()).toBe(SERVER_BUNDLE);
    const published = await publishTinyBundle(join(dir, 'staging'), join(dir, 'models'), trained, storage);
    const logDir = join(dir, 'prediction-log');
    server = startServerProcess(
      {
        MODEL_URI: published.latestUri!,
        PREDICTION_LOG_URI: logDir,
        DRIFT_WINDOW_SIZE: '50',
        DRIFT_MIN_SAMPLES: '20',
        DRIFT_INTERVAL_SECONDS: '1',
      },
      'bundle',
    );
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

    // The drift worker is a bundle of its own next to server.cjs: it runs, and its rows reach /monitoring/drift.
    const images = Array.from({ length: 24 }, (_, i) =>
      Array.from(halfPixels(i % 2 ? 'top' : 'bottom', 16, i)),
    );
    const infer = await fetch(`http://127.0.0.1:${port}/v2/models/tiny/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: 'input', shape: [24, 16, 16, 1], datatype: 'UINT8', data: images.flat() }],
      }),
    });
    expect(infer.status).toBe(200);
    let drift: { rows: Array<{ score: number | null; n: number }> } = { rows: [] };
    for (let attempt = 0; attempt < 100; attempt += 1) {
      drift = (await (await fetch(`http://127.0.0.1:${port}/monitoring/drift`)).json()) as typeof drift;
      if (drift.rows.every((row) => row.score !== null)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(drift.rows.length).toBe(5);
    expect(
      drift.rows.every((row) => row.score !== null && row.n === 25),
      JSON.stringify(drift),
    ).toBe(true);

    // SIGTERM flushes the prediction log: 25 records, nothing written before (batch of 500, every 10 s).
    expect(existsSync(logDir)).toBe(false);
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    const records = readdirSync(logDir, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.jsonl'))
      .flatMap((file) => readFileSync(join(logDir, file), 'utf8').split('\n').filter(Boolean));
    expect(records).toHaveLength(25);
    expect(server.logs.some((line) => line.message === 'model loaded and warmed up; ready')).toBe(true);
  });
});
