/**
 * Drift monitoring in the running app: rows from the first request on, tests in the worker once the window is full
 * enough, the drift_* gauges, a fresh monitor (with the new bundle's reference) after a reload, and nothing of it when
 * DRIFT_MONITOR is off.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createStorage } from '@tfmlops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../../tests/support/serve/test-app.ts';
import {
  type Half,
  halfPixels,
  publishTinyBundle,
  TINY_SIZE,
  trainTinyModel,
  useWasmBackend,
} from '../../../../tests/support/serve/tiny-bundle.ts';
import { type DriftMonitorConfig, defaultServeConfig } from '../config.ts';
import { driftConfigSchema } from '../drift/config.ts';
import type { PredictionEvent } from '../inference/prediction-service.ts';

const TOKEN = 'drift-test-token-0123456789';
const storage = createStorage();
let dir: string;
let trained: tfl.LayersModel;
let exportRoot: string;

/** Window 60, tested from 40 inputs, never on a timer (the test asks for evaluations). */
const drift = (enabled = true): DriftMonitorConfig => ({
  enabled,
  intervalMs: 3_600_000,
  settings: driftConfigSchema.parse({ windowSize: 60, minSamples: 40, mmdPermutations: 100 }),
});

/** `count` images like the reference's (both halves, textured), brightened by `brighten` grey levels. */
function images(count: number, brighten = 0): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => {
    const half: Half = i % 2 ? 'bottom' : 'top';
    return halfPixels(half, TINY_SIZE, 200 + i).map((v) => Math.min(255, v + brighten));
  });
}

const infer = (app: TestApp, batch: Uint8Array[]) =>
  app.app.inject({
    method: 'POST',
    url: '/v2/models/tiny/infer',
    payload: {
      inputs: [
        {
          name: 'input',
          shape: [batch.length, TINY_SIZE, TINY_SIZE, 1],
          datatype: 'UINT8',
          data: batch.flatMap((image) => Array.from(image)),
        },
      ],
    },
  });

const driftReport = async (app: TestApp) =>
  (await app.app.inject({ method: 'GET', url: '/monitoring/drift' })).json();
const metrics = async (app: TestApp) => (await app.app.inject({ method: 'GET', url: '/metrics' })).body;
/** The recorder feeds the window at the end of the event-loop turn that answered. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

beforeAll(async () => {
  await useWasmBackend();
  dir = mkdtempSync(join(tmpdir(), 'serve-drift-'));
  exportRoot = join(dir, 'models');
  trained = await trainTinyModel();
});

afterAll(() => {
  trained?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('drift monitoring in the service', () => {
  it('has every row from the start, scores once the window holds DRIFT_MIN_SAMPLES, finds a brightening; a reload starts afresh', async () => {
    const first = await publishTinyBundle(join(dir, 'staging-1'), exportRoot, trained, storage);
    const app = await buildTestApp(
      { modelUri: join(exportRoot, 'tiny', 'latest.json'), adminToken: TOKEN, drift: drift() },
      storage,
    );
    try {
      const empty = await driftReport(app);
      expect(empty).toMatchObject({
        model: { name: 'tiny', version: first.manifest.version },
        window: { inputs: 0, size: 60, minSamples: 40 },
        evaluatedAt: null,
      });
      expect(
        empty.rows.map((row: { feature: string; test: string }) => `${row.feature}/${row.test}`),
      ).toEqual([
        'pixel_mean_c0/ks',
        'pixel_std_c0/ks',
        'predicted_class/chi-square',
        'confidence/ks',
        'embedding/mmd',
      ]);
      // Five rows, each tested at 0.05 / 5 (Bonferroni).
      expect(empty.rows.every((row: { threshold: number }) => row.threshold === 0.01)).toBe(true);

      expect((await infer(app, images(3))).statusCode).toBe(200);
      await settled();
      const early = await driftReport(app);
      expect(
        early.rows.every(
          (row: { score: null; n: number; drifted: boolean }) =>
            row.score === null && row.n === 3 && !row.drifted,
        ),
      ).toBe(true);
      // No worker until there is a window worth testing.
      expect(app.app.serving.drift.state()?.window.inputs).toBe(3);

      // Like the reference: nothing drifts.
      await infer(app, images(40));
      await settled();
      const same = await app.app.serving.drift.evaluateNow();
      expect(same!.evaluatedAt).not.toBeNull();
      expect(same!.rows.every((row) => row.score !== null && row.n === 43)).toBe(true);
      expect(same!.rows.filter((row) => row.drifted)).toEqual([]);
      let text = await metrics(app);
      expect(text).toMatch(/^drift_score\{feature="pixel_mean_c0",test="ks"\} [0-9.e-]+$/m);
      expect(text).toMatch(/^drift_detected\{feature="pixel_mean_c0",test="ks"\} 0$/m);
      expect(text).toMatch(/^drift_window_inputs 43$/m);
      expect(text).toMatch(/^drift_evaluations_total\{outcome="ok"\} 1$/m);

      // 60 brightened images replace the whole window: the pixel mean drifts.
      await infer(app, images(60, 60));
      await settled();
      const bright = await app.app.serving.drift.evaluateNow();
      const drifted = bright!.rows.filter((row) => row.drifted).map((row) => row.feature);
      expect(drifted).toContain('pixel_mean_c0');
      text = await metrics(app);
      expect(text).toMatch(/^drift_detected\{feature="pixel_mean_c0",test="ks"\} 1$/m);
      expect(
        (await driftReport(app)).rows.find((row: { feature: string }) => row.feature === 'pixel_mean_c0')
          .drifted,
      ).toBe(true);

      // A new bundle: a new monitor on its reference, an empty window, and no stale drift flag.
      const second = await publishTinyBundle(join(dir, 'staging-2'), exportRoot, trained, storage, {
        createdAtOffsetSeconds: 10,
      });
      const reload = await app.app.inject({
        method: 'POST',
        url: '/admin/reload',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(reload.json().status).toBe('swapped');
      const fresh = await driftReport(app);
      expect(fresh.model.version).toBe(second.manifest.version);
      expect(fresh.window.inputs).toBe(0);
      expect(fresh.evaluatedAt).toBeNull();
      text = await metrics(app);
      expect(text).toMatch(/^drift_detected\{feature="pixel_mean_c0",test="ks"\} 0$/m);
      expect(text).not.toMatch(/^drift_score\{/m);
    } finally {
      await app.app.close();
    }
  });

  it('DRIFT_MONITOR off: GET /monitoring/drift is 404, no embeddings are computed, no drift series', async () => {
    await publishTinyBundle(join(dir, 'staging-3'), exportRoot, trained, storage, {
      createdAtOffsetSeconds: 20,
    });
    const app = await buildTestApp(
      { modelUri: join(exportRoot, 'tiny', 'latest.json'), drift: drift(false) },
      storage,
    );
    const on = await buildTestApp(
      { modelUri: join(exportRoot, 'tiny', 'latest.json'), drift: drift(true) },
      storage,
    );
    try {
      const off = await app.app.inject({ method: 'GET', url: '/monitoring/drift' });
      expect(off.statusCode).toBe(404);
      expect(off.json().error.code).toBe('DRIFT_MONITOR_OFF');
      const embeddings = async (service: TestApp) => {
        const events: PredictionEvent[] = [];
        const stop = service.app.serving.predictions.observe((event) => events.push(event));
        await infer(service, images(1));
        stop();
        return events[0]!.predictions[0]!.embedding;
      };
      expect(await embeddings(app)).toBeNull();
      expect(await embeddings(on)).toHaveLength(8);
      expect(await metrics(app)).not.toMatch(/^drift_(detected|threshold|score)\{/m);
      expect(app.app.serving.recorder).toBeUndefined();
    } finally {
      await app.app.close();
      await on.app.close();
    }
  });

  it('the drift settings come from the environment, over documented defaults', () => {
    expect(defaultServeConfig().drift).toEqual({
      enabled: true,
      intervalMs: 10_000,
      settings: {
        windowSize: 500,
        minSamples: 100,
        ksPValue: 0.05,
        chiSquarePValue: 0.05,
        mmdPValue: 0.05,
        mmdPermutations: 500,
        mmdSamples: 200,
      },
    });
  });
});
