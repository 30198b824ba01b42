import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createStorage } from '@tfmlops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../../tests/support/serve/test-app.ts';
import {
  halfImage,
  publishTinyBundle,
  trainTinyModel,
  useWasmBackend,
} from '../../../../tests/support/serve/tiny-bundle.ts';
import { loadServingModel } from './serving-model.ts';
import type { ServingModel } from './types.ts';

const TOKEN = 'reload-token-0123456789abcdef';
const storage = createStorage();
let dir: string;
let exportRoot: string;
let trained: tfl.LayersModel;
let published = 0;

/** Publishes the tiny model again as a new version (a later createdAt) and returns that version. */
async function publishNewVersion(): Promise<{ version: string; uri: string }> {
  published += 1;
  const result = await publishTinyBundle(join(dir, `staging-${published}`), exportRoot, trained, storage, {
    createdAtOffsetSeconds: published * 10,
  });
  return { version: result.manifest.version, uri: result.uri };
}

function corruptShard(bundleDir: string): void {
  const shard = join(bundleDir, 'group1-shard1of1.bin');
  const bytes = readFileSync(shard);
  bytes[7] = (bytes[7] as number) ^ 0xff;
  writeFileSync(shard, bytes);
}

const predict = async (app: TestApp) =>
  app.app.inject({
    method: 'POST',
    url: '/predict',
    payload: await halfImage('bottom'),
    headers: { 'content-type': 'image/png' },
  });

const reload = (app: TestApp, authorization?: string) =>
  app.app.inject({
    method: 'POST',
    url: '/admin/reload',
    headers: authorization ? { authorization } : {},
  });

const metrics = async (app: TestApp) => (await app.app.inject({ method: 'GET', url: '/metrics' })).body;

beforeAll(async () => {
  await useWasmBackend();
  dir = mkdtempSync(join(tmpdir(), 'serve-reload-'));
  exportRoot = join(dir, 'models');
  trained = await trainTinyModel();
});

afterAll(() => {
  trained?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('POST /admin/reload', () => {
  it('is 404 when no ADMIN_TOKEN is configured, 401 without or with a wrong token', async () => {
    await publishNewVersion();
    const latest = join(exportRoot, 'tiny', 'latest.json');
    const closed = await buildTestApp({ modelUri: latest }, storage);
    const open = await buildTestApp({ modelUri: latest, adminToken: TOKEN }, storage);
    try {
      const missing = await reload(closed, `Bearer ${TOKEN}`);
      expect([missing.statusCode, missing.json().error.code]).toEqual([404, 'NOT_FOUND']);
      for (const header of [undefined, 'Bearer wrong-token', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`]) {
        const refused = await reload(open, header);
        expect(refused.statusCode, header).toBe(401);
        expect(refused.headers['www-authenticate']).toBe('Bearer');
        expect(refused.json().error.code).toBe('UNAUTHORIZED');
      }
      const same = await reload(open, `Bearer ${TOKEN}`);
      expect(same.statusCode).toBe(200);
      expect(same.json()).toMatchObject({ status: 'unchanged', previous: null });
    } finally {
      await closed.app.close();
      await open.app.close();
    }
  });

  it('swaps in a new bundle; requests in flight finish on the old model, which is disposed afterwards', async () => {
    const first = await publishNewVersion();
    let open: () => void = () => {};
    let gate: Promise<void> | undefined;
    let reached: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const load = async (uri: string, options: Parameters<typeof loadServingModel>[1]) => {
      const model: ServingModel = await loadServingModel(uri, options);
      const run = model.predictBatch.bind(model);
      model.predictBatch = async (inputs) => {
        if (gate) reached();
        await gate;
        return run(inputs);
      };
      return model;
    };
    const app = await buildTestApp({ modelUri: join(exportRoot, 'tiny'), adminToken: TOKEN }, storage, {
      load,
    });
    try {
      const tensorsWithOneModel = tf.memory().numTensors;
      gate = new Promise((resolve) => {
        open = resolve;
      });
      const inFlight = predict(app);
      await held; // the request holds the first model and waits inside its batch
      gate = undefined;

      const second = await publishNewVersion();
      const swapped = await reload(app, `Bearer ${TOKEN}`);
      expect(swapped.statusCode, swapped.body).toBe(200);
      expect(swapped.json()).toMatchObject({
        status: 'swapped',
        previous: { name: 'tiny', version: first.version },
        current: { name: 'tiny', version: second.version },
      });
      // The new model serves from now on, while the old one keeps its weights for the request that started on it.
      expect((await app.app.inject({ method: 'GET', url: '/readyz' })).json().model.version).toBe(
        second.version,
      );
      expect(tf.memory().numTensors).toBeGreaterThan(tensorsWithOneModel);
      open();
      const finished = await inFlight;
      expect(finished.statusCode).toBe(200);
      expect(finished.json().model.version).toBe(first.version);
      // The old model was disposed when that request finished.
      expect(tf.memory().numTensors).toBe(tensorsWithOneModel);
      expect((await predict(app)).json().model.version).toBe(second.version);
      expect(await metrics(app)).toMatch(/model_reloads_total\{trigger="admin"\} 1/);
      expect(await metrics(app)).toContain(`version="${second.version}"`);
    } finally {
      open();
      await app.app.close();
    }
  });

  it('a bundle with a corrupted shard fails the reload (502, naming the file); the old model keeps answering', async () => {
    const good = await publishNewVersion();
    const app = await buildTestApp(
      { modelUri: join(exportRoot, 'tiny', 'latest.json'), adminToken: TOKEN },
      storage,
    );
    try {
      const tensors = tf.memory().numTensors;
      const bad = await publishNewVersion();
      corruptShard(bad.uri);
      const failed = await reload(app, `Bearer ${TOKEN}`);
      expect(failed.statusCode).toBe(502);
      expect(failed.json().error.code).toBe('MODEL_RELOAD_FAILED');
      expect(failed.json().error.message).toContain('MODEL_CHECKSUM_MISMATCH');
      expect(failed.json().error.message).toContain('group1-shard1of1.bin');
      const answer = await predict(app);
      expect(answer.statusCode).toBe(200);
      expect(answer.json().model.version).toBe(good.version);
      expect(answer.json().predictions[0].label).toBe('bottom');
      expect((await app.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      expect(await metrics(app)).toMatch(/model_reload_failures_total\{trigger="admin"\} 1/);
      expect(tf.memory().numTensors).toBe(tensors);
    } finally {
      await app.app.close();
    }
  });
});

describe('MODEL_POLL_SECONDS', () => {
  it('picks up a newly published bundle, and skips (and counts once) a broken one', async () => {
    const start = await publishNewVersion();
    const app = await buildTestApp(
      { modelUri: join(exportRoot, 'tiny', 'latest.json'), modelPollSeconds: 1 },
      storage,
    );
    const version = async () =>
      (await app.app.inject({ method: 'GET', url: '/readyz' })).json().model.version;
    try {
      expect(await version()).toBe(start.version);
      const next = await publishNewVersion();
      await waitFor(async () => (await version()) === next.version);
      expect(await metrics(app)).toMatch(/model_reloads_total\{trigger="poll"\} 1/);

      const broken = await publishNewVersion();
      corruptShard(broken.uri);
      await waitFor(async () => /model_reload_failures_total\{trigger="poll"\} 1/.test(await metrics(app)));
      // Two more intervals: the same broken bundle is not retried.
      await new Promise((resolve) => setTimeout(resolve, 2200));
      expect(await metrics(app)).toMatch(/model_reload_failures_total\{trigger="poll"\} 1\n/);
      expect(await version()).toBe(next.version);
      expect((await predict(app)).json().model.version).toBe(next.version);
    } finally {
      await app.app.close();
    }
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
