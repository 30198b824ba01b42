import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createStorage } from '@tfmlops/core';
import { publishBundle, writeBundle } from '@tfmlops/model';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PredictionRecord } from '../prediction-log/record.ts';
import { CLASSES, population, referenceOf } from './drift.test-support.ts';
import { driftConfigSchema, type LiveSample } from './evaluate.ts';
import { writeDriftReport } from './report.ts';

const LABELS = Array.from({ length: CLASSES }, (_, k) => `class-${k}`);

function records(samples: LiveSample[], version: string, name = 'drifty'): string {
  return `${samples
    .map(
      (sample, i): PredictionRecord => ({
        time: new Date(Date.UTC(2026, 10, 30, 12, 0, 0, i)).toISOString(),
        request_id: `r${i}`,
        api: 'predict',
        model: { name, version },
        image: { shape: [4, 4, 1], mean: sample.mean, std: sample.std },
        predictions: [{ label: LABELS[sample.predictedIndex]!, probability: sample.confidence }],
        predicted_index: sample.predictedIndex,
        confidence: sample.confidence,
        latency_ms: 1,
        embedding: sample.embedding,
      }),
    )
    .map((record) => JSON.stringify(record))
    .join('\n')}\n`;
}

describe('offline drift report', () => {
  const storage = createStorage();
  const config = driftConfigSchema.parse({});
  let dir: string;
  let bundleUri: string;
  let version: string;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'drift-report-'));
    const model = tfl.sequential({
      layers: [
        tfl.layers.flatten({ inputShape: [4, 4, 1] }),
        tfl.layers.dense({ units: CLASSES, name: 'logits' }),
      ],
    });
    const manifest = await writeBundle(
      join(dir, 'staging'),
      {
        model,
        name: 'drifty',
        labels: LABELS,
        inputShape: [4, 4, 1],
        preprocess: { width: 4, height: 4, channels: 1, resize: 'fit', background: '#000000' },
        normalization: { mean: [0.3], std: [0.3] },
        architecture: 'test',
        embeddingLayer: null,
        reference: referenceOf(population(1000, 1)),
        metrics: {},
        dataset: { name: 'synthetic', version: '0000000000000000', uri: 'memory' },
        config: {},
        git: { commit: null, dirty: null },
        run: null,
        quantize: 'none',
      },
      storage,
    );
    version = manifest.version;
    model.dispose();
    bundleUri = (await publishBundle(join(dir, 'staging'), join(dir, 'models'), { storage })).latestUri!;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds no drift in a held-out sample of the reference population', async () => {
    const logUri = join(dir, 'log-same');
    await storage.write(join(logUri, '2026/11/30/12/a.jsonl'), records(population(200, 2), version));
    await storage.write(
      join(logUri, '2026/11/30/12/b.jsonl'),
      `${records(population(200, 3), version)}not json\n`,
    );
    // Another model's predictions in the same bucket are not this model's traffic.
    await storage.write(
      join(logUri, '2026/11/30/12/c.jsonl'),
      records(population(200, 4, { brightness: 0.9 }), version, 'other'),
    );
    const report = await writeDriftReport({
      bundleUri,
      logUri,
      outDir: join(dir, 'report-same'),
      storage,
      config,
    });
    expect(report.log).toMatchObject({ objects: 3, records: 400, skippedLines: 1 });
    expect(report.drifted).toEqual([]);
    expect(report.rows.every((row) => row.score !== null && row.threshold === 0.01)).toBe(true);
  });

  it('finds brightened inputs and a changed class mix, and draws each feature', async () => {
    const logUri = join(dir, 'log-shifted');
    await storage.write(
      join(logUri, 'x.jsonl'),
      records(population(400, 5, { brightness: 0.45, weights: [1, 1, 1, 5] }), version),
    );
    const outDir = join(dir, 'report-shifted');
    const report = await writeDriftReport({ bundleUri, logUri, outDir, storage, config });
    expect(report.drifted).toEqual(expect.arrayContaining(['pixel_mean_c0', 'predicted_class']));
    expect(report.drifted).not.toContain('pixel_std_c0');
    const markdown = readFileSync(join(outDir, 'report.md'), 'utf8');
    expect(markdown).toContain('**Drift found in: ');
    expect(markdown).toContain('| pixel_mean_c0 | ks |');
    for (const file of ['pixel-mean-c0.png', 'pixel-std-c0.png', 'confidence.png', 'predicted-class.png']) {
      const meta = await sharp(join(outDir, file)).metadata();
      expect(meta.format).toBe('png');
      expect(meta.width).toBeGreaterThan(400);
    }
  });
});
