import { createRandom } from '@tfmlops/data';
import {
  CONFIDENCE_RANGE,
  equalWidthEdges,
  histogram,
  PIXEL_MEAN_RANGE,
  PIXEL_STD_RANGE,
  type ReferenceStatistics,
} from '@tfmlops/model';
import { afterEach, describe, expect, it } from 'vitest';
import { driftConfigSchema, type LiveSample } from './evaluate.ts';
import { DriftMonitor } from './monitor.ts';

const CLASSES = 4;

/** A population of inputs: brightness around `brightness`, classes with the given weights, 3-d embeddings around `centre`. */
function population(
  count: number,
  seed: number,
  { brightness = 0.3, weights = [1, 1, 1, 1], centre = 0 } = {},
): LiveSample[] {
  const random = createRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const total = weights.reduce((a, b) => a + b, 0);
  return Array.from({ length: count }, () => {
    let pick = random() * total;
    let predictedIndex = 0;
    while (pick > (weights[predictedIndex] as number)) pick -= weights[predictedIndex++] as number;
    return {
      mean: [brightness + 0.03 * normal()],
      std: [0.3 + 0.02 * normal()],
      predictedIndex,
      confidence: Math.min(1, 0.9 + 0.05 * normal()),
      embedding: [centre + normal(), normal(), normal()],
    };
  });
}

function referenceOf(samples: LiveSample[]): ReferenceStatistics {
  const feature = (values: number[], range: [number, number]) => ({
    histogram: histogram(values, equalWidthEdges(range)),
    sample: values,
  });
  const predictedClass = new Array<number>(CLASSES).fill(0);
  for (const s of samples) predictedClass[s.predictedIndex] = (predictedClass[s.predictedIndex] ?? 0) + 1;
  return {
    split: 'val',
    count: samples.length,
    pixels: [
      {
        mean: feature(
          samples.map((s) => s.mean[0]!),
          PIXEL_MEAN_RANGE,
        ),
        std: feature(
          samples.map((s) => s.std[0]!),
          PIXEL_STD_RANGE,
        ),
      },
    ],
    predictedClass,
    confidence: feature(
      samples.map((s) => s.confidence),
      CONFIDENCE_RANGE,
    ),
    embeddings: { layer: 'embedding', dimensions: 3, sample: samples.slice(0, 300).map((s) => s.embedding!) },
  };
}

describe('DriftMonitor', () => {
  const reference = referenceOf(population(1000, 1));
  const config = driftConfigSchema.parse({
    windowSize: 300,
    minSamples: 100,
    mmdSamples: 100,
    mmdPermutations: 50,
  });
  let monitor: DriftMonitor | undefined;
  afterEach(async () => {
    await monitor?.close();
    monitor = undefined;
  });

  it('has a row per feature and test from the start, with null scores and the current n until the window fills', async () => {
    monitor = DriftMonitor.create({ reference, config, intervalMs: 0 });
    const features = monitor.rows().map((row) => `${row.feature}/${row.test}`);
    expect(features).toEqual([
      'pixel_mean_c0/ks',
      'pixel_std_c0/ks',
      'predicted_class/chi-square',
      'confidence/ks',
      'embedding/mmd',
    ]);
    for (const sample of population(40, 2)) monitor.observe(sample);
    const rows = await monitor.evaluateNow();
    expect(rows.every((row) => row.score === null && row.drifted === false && row.n === 40)).toBe(true);
    monitor.observe(population(1, 3)[0]!);
    expect(monitor.rows()[0]!.n).toBe(41);
  });

  it('finds nothing on a fresh sample of the same population', async () => {
    const seen: number[] = [];
    monitor = DriftMonitor.create({
      reference,
      config,
      intervalMs: 0,
      onRows: (rows) => seen.push(rows.length),
    });
    for (const sample of population(300, 5)) monitor.observe(sample);
    const rows = await monitor.evaluateNow();
    expect(rows.filter((row) => row.drifted)).toEqual([]);
    expect(rows.every((row) => row.score !== null && row.n === 300)).toBe(true);
    expect(seen).toEqual([5]);
  });

  it('flags brighter inputs, a changed class mix and moved embeddings, each on its own feature', async () => {
    monitor = DriftMonitor.create({ reference, config, intervalMs: 0 });
    // Each unshifted feature may still cross p < 0.05 by chance (that is what 0.05 means), so "its own feature" is
    // asserted at a stricter level: only the shifted feature is far below it.
    const strongly = (rows: Awaited<ReturnType<DriftMonitor['evaluateNow']>>) =>
      rows.filter((row) => row.score !== null && row.score < 0.02).map((row) => row.feature);
    const shifts: Array<[Parameters<typeof population>[2], string]> = [
      [{ brightness: 0.4 }, 'pixel_mean_c0'],
      [{ weights: [4, 1, 1, 1] }, 'predicted_class'],
      [{ centre: 1 }, 'embedding'],
    ];
    for (const [index, [shift, feature]] of shifts.entries()) {
      for (const sample of population(300, 7 + index, shift)) monitor.observe(sample);
      const rows = await monitor.evaluateNow();
      expect(rows.find((row) => row.feature === feature)?.drifted).toBe(true);
      expect(strongly(rows)).toEqual([feature]);
    }
  });
});
