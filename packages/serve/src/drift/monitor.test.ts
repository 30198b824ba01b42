import { afterEach, describe, expect, it } from 'vitest';
import { population, referenceOf } from './drift.test-support.ts';
import { driftConfigSchema } from './evaluate.ts';
import { DriftMonitor } from './monitor.ts';

describe('DriftMonitor', () => {
  const reference = referenceOf(population(1000, 1));
  const config = driftConfigSchema.parse({
    windowSize: 300,
    minSamples: 100,
    mmdSamples: 200,
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
    const drifted = (rows: Awaited<ReturnType<DriftMonitor['evaluateNow']>>) =>
      rows.filter((row) => row.drifted).map((row) => row.feature);
    const shifts: Array<[Parameters<typeof population>[2], string]> = [
      [{ brightness: 0.4 }, 'pixel_mean_c0'],
      [{ weights: [4, 1, 1, 1] }, 'predicted_class'],
      [{ centre: 1 }, 'embedding'],
    ];
    for (const [index, [shift, feature]] of shifts.entries()) {
      for (const sample of population(300, 7 + index, shift)) monitor.observe(sample);
      const rows = await monitor.evaluateNow();
      expect(drifted(rows)).toEqual([feature]);
    }
  });
});
