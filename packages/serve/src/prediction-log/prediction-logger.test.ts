import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStorage, type Storage } from '@tfmlops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsEmulator } from '../../../../tests/support/gcs-emulator/index.ts';
import { PredictionLogger } from './prediction-logger.ts';
import { type PredictionRecord, predictionRecordSchema } from './record.ts';

function record(i: number): PredictionRecord {
  return {
    time: new Date(Date.UTC(2026, 10, 30, 12, 0, i)).toISOString(),
    request_id: `req-${i}`,
    api: 'predict',
    model: { name: 'exp1', version: '20261130T120000Z-0123abcd' },
    image: { shape: [28, 28, 1], mean: [0.13], std: [0.3] },
    predictions: [{ label: '7', probability: 0.9 }],
    predicted_index: 7,
    confidence: 0.9,
    latency_ms: 1.5,
    embedding: [0.1, 0.2],
  };
}

async function readRecords(storage: Storage, uri: string): Promise<PredictionRecord[]> {
  const records: PredictionRecord[] = [];
  for (const entry of await storage.list(uri)) {
    const text = (await storage.read(entry.uri)).toString('utf8');
    for (const line of text.split('\n').filter(Boolean))
      records.push(predictionRecordSchema.parse(JSON.parse(line)));
  }
  return records;
}

describe('PredictionLogger', () => {
  let dir: string;
  const storage = createStorage();
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'predlog-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('samples at the configured rate', () => {
    let calls = 0;
    const logger = new PredictionLogger({
      uri: dir,
      storage,
      sampleRate: 0.25,
      instanceId: 'a',
      random: () => (calls++ % 4) / 4,
    });
    const sampled = Array.from({ length: 400 }, () => logger.sampled()).filter(Boolean).length;
    expect(sampled).toBe(100);
    expect(new PredictionLogger({ uri: dir, storage, sampleRate: 0, instanceId: 'a' }).sampled()).toBe(false);
  });

  it('writes full batches as JSONL objects under a dated prefix, and the rest on close', async () => {
    const uri = join(dir, 'batches');
    const logger = new PredictionLogger({
      uri,
      storage,
      sampleRate: 1,
      instanceId: 'inst',
      batchSize: 10,
      flushIntervalMs: 60_000,
    });
    for (let i = 0; i < 25; i += 1) expect(logger.offer(record(i))).toBe(true);
    const stats = await logger.close();
    expect(stats).toEqual({ written: 25, dropped: 0, failedWrites: 0, buffered: 0 });
    const objects = await storage.list(uri);
    expect(objects).toHaveLength(3);
    for (const object of objects)
      expect(object.relativePath).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\d{2}\/\d{8}T\d{9}Z-inst-\d{6}\.jsonl$/);
    const records = await readRecords(storage, uri);
    expect(records.map((r) => r.request_id).sort()).toEqual(
      Array.from({ length: 25 }, (_, i) => `req-${i}`).sort(),
    );
  });

  it('bounds its buffer: beyond maxBuffered records are dropped and counted', () => {
    const logger = new PredictionLogger({
      uri: join(dir, 'bounded'),
      storage,
      sampleRate: 1,
      instanceId: 'b',
      maxBuffered: 5,
      batchSize: 100,
      flushIntervalMs: 60_000,
    });
    const kept = Array.from({ length: 8 }, (_, i) => logger.offer(record(i)));
    expect(kept).toEqual([true, true, true, true, true, false, false, false]);
    expect(logger.stats).toMatchObject({ dropped: 3, buffered: 5 });
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

    it('survives an outage: offers never wait, failed batches stay buffered and arrive after the bucket is back', async () => {
      const uri = 'gs://logs/predictions';
      const logger = new PredictionLogger({
        uri,
        storage: gcs,
        sampleRate: 1,
        instanceId: 'g',
        batchSize: 5,
        flushIntervalMs: 60_000,
      });
      emulator.injectFault({
        method: 'POST',
        path: '/upload/',
        status: 503,
        times: Number.POSITIVE_INFINITY,
      });
      const requestsBefore = emulator.requests.length;
      for (let i = 0; i < 12; i += 1) expect(logger.offer(record(i))).toBe(true);
      // offer only buffers: no request has been made by the time it returns.
      expect(emulator.requests.length).toBe(requestsBefore);
      await logger.flush();
      expect(logger.stats.failedWrites).toBeGreaterThan(0);
      expect(logger.stats.buffered).toBe(12);
      expect(emulator.objectNames('logs')).toEqual([]);

      emulator.clearFaults();
      const stats = await logger.close();
      expect(stats).toMatchObject({ written: 12, buffered: 0, dropped: 0 });
      const records = await readRecords(gcs, uri);
      expect(records).toHaveLength(12);
    });
  });
});
