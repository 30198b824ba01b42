import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createStorage } from '@tfmlops/core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataConfigSchema } from '../config.ts';
import { openDataset } from '../format/open-dataset.ts';
import { prepareDataset } from '../prepare/prepare-dataset.ts';
import type { SourceDataset, SourceSample } from '../sources/types.ts';
import { syntheticSource } from '../testing/synthetic-source.ts';
import { findDuplicates, type HashedImage } from './duplicates.ts';
import { differenceHash, hammingDistance } from './image-hash.ts';
import { writeReport } from './report.ts';
import type { DataReport } from './report-types.ts';

const storage = createStorage();
const logger = createLogger({ level: 'silent' });
let root: string;
let report: DataReport;
let outDir: string;

/** A source with planted leakage: one test image copied into train exactly, one with slight noise. */
function leakySource(): SourceDataset {
  const base = syntheticSource({
    classes: 2,
    perClass: 15,
    testPerClass: 5,
    width: 16,
    height: 16,
    channels: 1,
    encoded: false,
  });
  const tests = base.samples.filter((s) => s.officialSplit === 'test');
  const copy = (sample: SourceSample, id: string, noise: number): SourceSample => {
    if (sample.image.kind !== 'raw') throw new Error('raw expected');
    const pixels = sample.image.pixels.map((v, i) => Math.min(255, v + (i % 7 === 0 ? noise : 0)));
    return { ...sample, id, officialSplit: 'train', image: { ...sample.image, pixels } };
  };
  // One test image of each class, so train stays balanced (16 + 16).
  const first = tests.find((s) => s.label === 0) as SourceSample;
  const second = tests.find((s) => s.label === 1) as SourceSample;
  return {
    ...base,
    fingerprint: `${base.fingerprint}-leaky`,
    samples: [...base.samples, copy(first, 'train/leak/exact', 0), copy(second, 'train/leak/near', 3)],
  };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'report-test-'));
  const config = dataConfigSchema.parse({
    name: 'leaky',
    source: { kind: 'mnist' },
    outputDir: root,
    split: { valFraction: 0 },
  });
  const source = leakySource();
  const prepared = await prepareDataset(config, { storage, logger, loadSource: async () => source });
  const dataset = await openDataset(prepared.uri, { storage });
  outDir = join(root, 'report');
  report = await writeReport(dataset, { outDir, storage, logger, samplesPerClass: 4 });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('writeReport', () => {
  it('reports counts, balance and pixel statistics', () => {
    expect(report.counts.train.total).toBe(32);
    expect(report.counts.test.perClass).toEqual({ 'class-0': 5, 'class-1': 5 });
    expect(report.classBalance.train).toMatchObject({ ratio: 1 });
    expect(report.classBalance.val).toBeNull();
    expect(report.pixels.train.mean[0]).toBeGreaterThan(0.2);
    expect(report.pixels.train.min[0]).toBeLessThanOrEqual(report.pixels.train.mean[0] as number);
    expect(report.skipped.count).toBe(0);
  });

  it('finds the planted exact and near duplicates across splits, and nothing else', () => {
    expect(report.duplicates.exact.crossSplitPairs).toBe(1);
    expect(report.duplicates.near.crossSplitPairs).toBe(1);
    expect(report.duplicates.evalImagesSeenInTrain).toBe(2);
    expect(report.duplicates.examples.map((e) => e.distance)).toContain(0);
    expect(
      report.duplicates.examples.every((e) => e.splits.includes('train') && e.splits.includes('test')),
    ).toBe(true);
  });

  it('writes report.json, report.md and PNGs that decode', async () => {
    const json = JSON.parse(await readFile(join(outDir, 'report.json'), 'utf8')) as DataReport;
    expect(json.dataset.version).toBe(report.dataset.version);
    const markdown = await readFile(join(outDir, 'report.md'), 'utf8');
    expect(markdown).toContain('# Data report: leaky@');
    expect(markdown).toContain('| class-1 | 16 | 0 | 5 |');
    expect(markdown).toContain('1 pairs across splits');
    for (const file of ['samples.png', 'class-histogram.png', 'duplicates.png']) {
      const meta = await sharp(await readFile(join(outDir, file))).metadata();
      expect(meta.format).toBe('png');
      expect(meta.width).toBeGreaterThan(100);
    }
    // Two class rows of 4 tiles (56 px) plus header: taller than a single row.
    const grid = await sharp(await readFile(join(outDir, 'samples.png'))).metadata();
    expect(grid.height).toBeGreaterThan(2 * 56);
  });
});

describe('near-duplicate search', () => {
  const image = (seed: number) =>
    Uint8Array.from({ length: 32 * 32 }, (_, i) => ((i * 31 + seed * 97) ^ (i >> 3)) & 0xff);
  const hashed = (ref: string, split: 'train' | 'test', pixels: Uint8Array): HashedImage => ({
    ref,
    split,
    label: 0,
    exact: ref,
    dhash: differenceHash(pixels, 32, 32, 1),
  });

  it('finds every cross-split pair within the threshold (same as brute force)', () => {
    const images: HashedImage[] = [];
    for (let i = 0; i < 40; i += 1) images.push(hashed(`a${i}`, i % 2 === 0 ? 'train' : 'test', image(i)));
    // Variants of image 0 with a few flipped hash bits.
    for (let flips = 1; flips <= 6; flips += 1) {
      const dhash = Uint32Array.from(images[0]?.dhash ?? []);
      for (let b = 0; b < flips; b += 1) dhash[b] = (dhash[b] as number) ^ (1 << (b * 5));
      images.push({ ref: `v${flips}`, split: 'test', label: 0, exact: `v${flips}`, dhash });
    }
    const threshold = 4;
    let brute = 0;
    for (let i = 0; i < images.length; i += 1) {
      for (let j = i + 1; j < images.length; j += 1) {
        const a = images[i] as HashedImage;
        const b = images[j] as HashedImage;
        if (a.split !== b.split && hammingDistance(a.dhash, b.dhash) <= threshold) brute += 1;
      }
    }
    const found = findDuplicates(images, threshold);
    expect(brute).toBeGreaterThanOrEqual(4);
    expect(found.nearCrossSplitPairs).toBe(brute);
  });
});
