/**
 * Prediction logging through the real app: what a record holds for each API, raw images only when enabled, and a
 * bucket outage (the GCS emulator answering 503) that never fails or slows a request and loses nothing once the
 * bucket is back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createStorage, type Storage } from '@tfmlops/core';
import { imageChannelStats } from '@tfmlops/model';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsEmulator } from '../../../../tests/support/gcs-emulator/index.ts';
import { buildTestApp, multipartBody, type TestApp } from '../../../../tests/support/serve/test-app.ts';
import {
  halfImage,
  halfPixels,
  publishTinyBundle,
  TINY_SIZE,
  trainTinyModel,
  useWasmBackend,
} from '../../../../tests/support/serve/tiny-bundle.ts';
import { defaultServeConfig, type PredictionLogConfig } from '../config.ts';
import { type PredictionRecord, predictionRecordSchema } from './record.ts';

const storage = createStorage();
let dir: string;
let modelUri: string;
let trained: tfl.LayersModel;

const logConfig = (overrides: Partial<PredictionLogConfig>): PredictionLogConfig => ({
  ...defaultServeConfig().predictionLog,
  ...overrides,
});

async function readRecords(from: Storage, uri: string): Promise<PredictionRecord[]> {
  const records: PredictionRecord[] = [];
  for (const entry of await from.list(uri)) {
    for (const line of (await from.read(entry.uri)).toString('utf8').split('\n').filter(Boolean)) {
      records.push(predictionRecordSchema.parse(JSON.parse(line)));
    }
  }
  return records;
}

const pngRequest = async (app: TestApp, variant: number) =>
  app.app.inject({
    method: 'POST',
    url: '/predict?top_k=2',
    payload: await halfImage(variant % 2 ? 'bottom' : 'top', { variant }),
    headers: { 'content-type': 'image/png' },
  });

const metric = async (app: TestApp, pattern: RegExp) =>
  Number(pattern.exec((await app.app.inject({ method: 'GET', url: '/metrics' })).body)?.[1]);

beforeAll(async () => {
  await useWasmBackend();
  dir = mkdtempSync(join(tmpdir(), 'serve-predlog-'));
  trained = await trainTinyModel();
  modelUri = (await publishTinyBundle(join(dir, 'staging'), join(dir, 'models'), trained, storage))
    .latestUri!;
});

afterAll(() => {
  trained?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('prediction logging in the service', () => {
  it('logs every answered input of /predict, /predict/batch and OIP as a record, flushed when the app closes', async () => {
    const uri = join(dir, 'log-all');
    const app = await buildTestApp({ modelUri, predictionLog: logConfig({ uri }) }, storage);
    const single = await pngRequest(app, 1);
    const batch = await app.app.inject({
      method: 'POST',
      url: '/predict/batch?top_k=1',
      ...multipartBody([
        {
          name: 'file',
          filename: 'a.png',
          contentType: 'image/png',
          data: await halfImage('top', { variant: 2 }),
        },
        {
          name: 'file',
          filename: 'b.png',
          contentType: 'image/png',
          data: await halfImage('bottom', { variant: 3 }),
        },
      ]),
    });
    const pixels = halfPixels('bottom', TINY_SIZE, 4);
    const oip = await app.app.inject({
      method: 'POST',
      url: '/v2/models/tiny/infer',
      payload: {
        inputs: [
          { name: 'input', shape: [1, TINY_SIZE, TINY_SIZE, 1], datatype: 'UINT8', data: Array.from(pixels) },
        ],
      },
    });
    expect([single.statusCode, batch.statusCode, oip.statusCode]).toEqual([200, 200, 200]);
    // Nothing is written while the batch is not full (500 records) and the interval (10 s) has not passed...
    expect(await storage.list(uri).catch(() => [])).toEqual([]);
    // ...and closing the app (what SIGTERM does) writes it.
    await app.app.close();
    const records = await readRecords(storage, uri);
    expect(records).toHaveLength(4);
    const byApi = (api: string) => records.filter((record) => record.api === api);
    expect(byApi('predict')).toHaveLength(1);
    expect(byApi('predict_batch')).toHaveLength(2);
    expect(byApi('oip')).toHaveLength(1);
    expect(byApi('predict')[0]!.request_id).toBe(single.headers['x-request-id']);
    expect(new Set(byApi('predict_batch').map((r) => r.request_id))).toEqual(
      new Set([batch.headers['x-request-id']]),
    );
    const record = byApi('oip')[0]!;
    expect(record).toMatchObject({
      request_id: oip.headers['x-request-id'],
      model: { name: 'tiny', version: oip.json().model_version },
      image: { shape: [TINY_SIZE, TINY_SIZE, 1], ...imageChannelStats(pixels, 1) },
      predicted_index: 1,
      predictions: [{ label: 'bottom' }],
    });
    expect(record.confidence).toBeCloseTo(oip.json().outputs[0].data[1], 6);
    expect(record.latency_ms).toBeGreaterThan(0);
    // The penultimate layer of the tiny network has 8 units; the same network run gave it.
    expect(record.embedding).toHaveLength(8);
    expect(records.every((r) => r.image_png_base64 === undefined)).toBe(true);
    expect(byApi('predict')[0]!.predictions.map((p) => p.label)).toEqual(['bottom', 'top']);
  });

  it('logs the input image as a PNG only when PREDICTION_LOG_IMAGES is on', async () => {
    const uri = join(dir, 'log-images');
    const app = await buildTestApp(
      { modelUri, predictionLog: logConfig({ uri, images: true, embeddings: false }) },
      storage,
    );
    expect((await pngRequest(app, 6)).statusCode).toBe(200);
    await app.app.close();
    const [record] = await readRecords(storage, uri);
    expect(record!.embedding).toBeNull();
    const png = Buffer.from(record!.image_png_base64!, 'base64');
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', TINY_SIZE, TINY_SIZE, 1]);
    const { data } = await sharp(png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    expect(new Uint8Array(data)).toEqual(halfPixels('top', TINY_SIZE, 6));
  });

  describe('against the GCS emulator', () => {
    const emulator = new GcsEmulator();
    let gcs: Storage;
    beforeAll(async () => {
      const endpoint = await emulator.start();
      emulator.createBucket('logs');
      gcs = createStorage({ gcs: { apiEndpoint: endpoint, projectId: 'test', retry: { maxRetries: 0 } } });
    });
    afterAll(() => emulator.stop());

    it('a bucket outage fails no request: writes are retried later and nothing is lost once it is back', async () => {
      const uri = 'gs://logs/predictions';
      const app = await buildTestApp(
        { modelUri, predictionLog: logConfig({ uri, batchSize: 2, flushIntervalMs: 100 }) },
        storage,
        { predictionLogStorage: gcs },
      );
      try {
        emulator.injectFault({
          method: 'POST',
          path: '/upload/',
          status: 503,
          times: Number.POSITIVE_INFINITY,
        });
        for (let i = 0; i < 6; i += 1) {
          const response = await pngRequest(app, i);
          expect(response.statusCode).toBe(200);
        }
        await waitFor(async () => (await metric(app, /^prediction_log_write_failures_total (\d+)$/m)) >= 2);
        expect(emulator.objectNames('logs')).toEqual([]);
        expect(await metric(app, /^prediction_log_buffered_records (\d+)$/m)).toBe(6);
        expect(
          app.logs().some((line) => line.message === 'prediction log: batch write failed; will retry'),
        ).toBe(true);
        // Requests go on being answered during the outage.
        expect((await pngRequest(app, 7)).statusCode).toBe(200);

        emulator.clearFaults();
        // Retried with backoff, without any request or shutdown to push it.
        await waitFor(
          async () => (await metric(app, /^prediction_log_records_total\{outcome="written"\} (\d+)$/m)) === 7,
        );
        expect(await metric(app, /^prediction_log_buffered_records (\d+)$/m)).toBe(0);
        expect(await metric(app, /^prediction_log_records_total\{outcome="dropped"\} (\d+)$/m)).toBe(0);
        const records = await readRecords(gcs, uri);
        expect(records).toHaveLength(7);
      } finally {
        emulator.clearFaults();
        await app.app.close();
      }
    });

    it('a long outage fills the bounded buffer: further records are dropped and counted, requests still answered', async () => {
      const uri = 'gs://logs/bounded';
      const app = await buildTestApp(
        { modelUri, predictionLog: logConfig({ uri, batchSize: 2, flushIntervalMs: 100, maxBuffered: 3 }) },
        storage,
        { predictionLogStorage: gcs },
      );
      try {
        emulator.injectFault({
          method: 'POST',
          path: '/upload/',
          status: 503,
          times: Number.POSITIVE_INFINITY,
        });
        for (let i = 0; i < 5; i += 1) expect((await pngRequest(app, i)).statusCode).toBe(200);
        await new Promise((resolve) => setImmediate(resolve));
        expect(await metric(app, /^prediction_log_records_total\{outcome="dropped"\} (\d+)$/m)).toBe(2);
        expect(await metric(app, /^prediction_log_buffered_records (\d+)$/m)).toBe(3);
      } finally {
        emulator.clearFaults();
        await app.app.close();
      }
      expect(await readRecords(gcs, uri)).toHaveLength(3);
    });
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
