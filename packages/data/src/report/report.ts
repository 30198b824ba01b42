import { joinUri, type Logger, type Storage } from '@tfmlops/core';
import { SPLITS, type SplitName } from '../format/manifest.ts';
import type { PreparedDataset } from '../format/open-dataset.ts';
import type { Shard } from '../format/shard.ts';
import { ChannelStats } from '../prepare/stats.ts';
import { type DuplicatePair, findDuplicates, type HashedImage } from './duplicates.ts';
import { differenceHash, pixelHash } from './image-hash.ts';
import { renderMarkdown } from './markdown.ts';
import { renderClassHistogram, renderGrid, type Tile } from './render.ts';
import type { DataReport, PairJson } from './report-types.ts';

export interface ReportOptions {
  /** Directory (local or gs://) for report.json, report.md and the PNGs. */
  outDir: string;
  storage: Storage;
  logger: Logger;
  /** dHash Hamming distance at or below which two images are near-duplicate candidates. Default 8 (of 256 bits). */
  nearDuplicateThreshold?: number;
  /**
   * A candidate is confirmed when sum|a - b| / (sum a + sum b) over its preprocessed pixels is at most this. Relative
   * to the content rather than per pixel, so a black MNIST background does not make two different digits "close".
   * Default 0.05: re-encodes and slight edits pass, different digits of the same shape do not.
   */
  pixelTolerance?: number;
  /** Images per class in the sample grid. Default 8. */
  samplesPerClass?: number;
}

/**
 * Reads every image of a prepared dataset once and writes report.json, report.md, samples.png (a labelled grid per
 * class), class-histogram.png and, when there are cross-split duplicates, duplicates.png (the pairs side by side).
 */
export async function writeReport(dataset: PreparedDataset, options: ReportOptions): Promise<DataReport> {
  const { manifest } = dataset;
  const [height, width, channels] = manifest.imageShape;
  const shape = { height, width, channels };
  const imageSize = height * width * channels;
  const threshold = options.nearDuplicateThreshold ?? 8;
  const perClass = options.samplesPerClass ?? 8;
  const classNames = manifest.classNames;
  const hashed: HashedImage[] = [];
  const gridTiles: Tile[][] = classNames.map(() => []);
  const pixelsByRef = new Map<string, Uint8Array>();
  const pixels = {} as DataReport['pixels'];

  for (const split of SPLITS) {
    const stats = new ChannelStats(channels);
    const min = new Array<number>(channels).fill(255);
    const max = new Array<number>(channels).fill(0);
    for (const entry of dataset.shards(split)) {
      const shard = await dataset.readShard(entry);
      stats.add(shard.pixels);
      for (let i = 0; i < shard.pixels.length; i += 1) {
        const v = shard.pixels[i] as number;
        const c = i % channels;
        if (v < (min[c] as number)) min[c] = v;
        if (v > (max[c] as number)) max[c] = v;
      }
      for (let index = 0; index < shard.count; index += 1) {
        const image = shard.pixels.subarray(index * imageSize, (index + 1) * imageSize);
        const label = shard.labels[index] as number;
        const ref = `${entry.file}#${index}`;
        hashed.push({
          ref,
          split,
          label,
          exact: pixelHash(image),
          dhash: differenceHash(image, height, width, channels),
        });
        const tiles = gridTiles[label] as Tile[];
        if (tiles.length < perClass && (split === 'train' || tiles.length === 0))
          tiles.push({ pixels: image.slice() });
      }
    }
    const { mean, std } = stats.result();
    const empty = dataset.count(split) === 0;
    pixels[split] = {
      mean,
      std,
      min: empty ? [] : min.map((v) => v / 255),
      max: empty ? [] : max.map((v) => v / 255),
    };
  }

  options.logger.info({ images: hashed.length, threshold }, 'searching for duplicates across splits');
  const tolerance = options.pixelTolerance ?? 0.05;
  // Confirming needs both images' pixels; held datasets (the in-memory fast path) have them at hand.
  const shardByFile = new Map<string, Shard>();
  if (dataset.inMemory)
    for (const entry of manifest.shards) shardByFile.set(entry.file, await dataset.readShard(entry));
  const pixelsOf = (ref: string) => {
    const [file, index] = ref.split('#') as [string, string];
    const shard = shardByFile.get(file) as Shard;
    return shard.pixels.subarray(Number(index) * imageSize, (Number(index) + 1) * imageSize);
  };
  const confirm = dataset.inMemory
    ? (a: HashedImage, b: HashedImage) => relativeDifference(pixelsOf(a.ref), pixelsOf(b.ref)) <= tolerance
    : undefined;
  const findings = findDuplicates(hashed, threshold, { confirm });
  // Keep the pixels of example pairs for duplicates.png (a second pass would re-read shards).
  const wanted = new Set(findings.examples.slice(0, 8).flatMap((pair) => [pair.a.ref, pair.b.ref]));
  if (wanted.size > 0) {
    for (const entry of dataset.manifest.shards) {
      const shard = await dataset.readShard(entry);
      for (let index = 0; index < shard.count; index += 1) {
        const ref = `${entry.file}#${index}`;
        if (wanted.has(ref))
          pixelsByRef.set(ref, shard.pixels.slice(index * imageSize, (index + 1) * imageSize));
      }
    }
  }

  const counts = {} as DataReport['counts'];
  const classBalance = {} as DataReport['classBalance'];
  for (const split of SPLITS) {
    const list = manifest.counts[split].perClass;
    counts[split] = {
      total: manifest.counts[split].total,
      perClass: Object.fromEntries(classNames.map((name, k) => [name, list[k] ?? 0])),
    };
    classBalance[split] = balanceOf(classNames, list);
  }
  const toJson = (pair: DuplicatePair): PairJson => ({
    a: pair.a.ref,
    b: pair.b.ref,
    splits: [pair.a.split, pair.b.split],
    labels: [classNames[pair.a.label] ?? '?', classNames[pair.b.label] ?? '?'],
    distance: pair.distance,
  });
  const report: DataReport = {
    dataset: {
      name: manifest.name,
      version: manifest.version,
      uri: dataset.uri,
      source: { kind: manifest.source.kind, origin: manifest.source.origin },
      imageShape: manifest.imageShape,
      preprocess: manifest.preprocess,
      split: manifest.split,
    },
    counts,
    classBalance,
    pixels,
    skipped: { count: manifest.skipped.length, items: manifest.skipped },
    duplicates: {
      exact: {
        groups: findings.exactGroups.length,
        images: findings.exactGroups.reduce((sum, group) => sum + group.length, 0),
        crossSplitPairs: findings.exactCrossSplitPairs,
      },
      near: {
        method: confirm
          ? `dHash 256-bit Hamming distance <= ${threshold}, confirmed by relative pixel difference <= ${tolerance}`
          : `dHash 256-bit Hamming distance <= ${threshold} (unconfirmed: dataset too large to hold for pixel checks)`,
        threshold,
        pixelTolerance: confirm ? tolerance : null,
        hashCandidates: findings.hashCandidates,
        crossSplitPairs: findings.nearCrossSplitPairs,
      },
      evalImagesSeenInTrain: findings.evalImagesSeenInTrain,
      examples: findings.examples.map(toJson),
    },
    files: {
      samples: 'samples.png',
      histogram: 'class-histogram.png',
      duplicates: wanted.size > 0 ? 'duplicates.png' : null,
    },
  };

  const title = `${manifest.name}@${manifest.version}`;
  const { storage, outDir } = options;
  const samples = await renderGrid(
    `${title}: samples per class`,
    classNames.map((name, k) => ({
      label: name === String(k) ? name : `${k} ${name}`,
      tiles: gridTiles[k] as Tile[],
    })),
    shape,
  );
  await storage.write(joinUri(outDir, 'samples.png'), samples, { contentType: 'image/png' });
  const histogram = await renderClassHistogram(`${title}: images per class`, classNames, {
    train: manifest.counts.train.perClass,
    val: manifest.counts.val.perClass,
    test: manifest.counts.test.perClass,
  });
  await storage.write(joinUri(outDir, 'class-histogram.png'), histogram, { contentType: 'image/png' });
  if (wanted.size > 0) {
    const rows = findings.examples.slice(0, 8).map((pair) => ({
      label: `${pair.a.split} ${classNames[pair.a.label]} / ${pair.b.split} ${classNames[pair.b.label]} (d=${pair.distance})`,
      tiles: [pair.a.ref, pair.b.ref].map((ref) => ({ pixels: pixelsByRef.get(ref) as Uint8Array })),
    }));
    const png = await renderGrid(`${title}: duplicates across splits`, rows, shape);
    await storage.write(joinUri(outDir, 'duplicates.png'), png, { contentType: 'image/png' });
  }
  await storage.write(joinUri(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`, {
    contentType: 'application/json',
  });
  await storage.write(joinUri(outDir, 'report.md'), renderMarkdown(report), { contentType: 'text/markdown' });
  return report;
}

function relativeDifference(a: Uint8Array, b: Uint8Array): number {
  let difference = 0;
  let total = 0;
  for (let i = 0; i < a.length; i += 1) {
    const x = a[i] as number;
    const y = b[i] as number;
    difference += Math.abs(x - y);
    total += x + y;
  }
  return total === 0 ? 0 : difference / total;
}

function balanceOf(classNames: string[], counts: number[]): DataReport['classBalance'][SplitName] {
  if (counts.every((n) => n === 0)) return null;
  let lo = 0;
  let hi = 0;
  counts.forEach((n, k) => {
    if (n < (counts[lo] as number)) lo = k;
    if (n > (counts[hi] as number)) hi = k;
  });
  const min = counts[lo] as number;
  const max = counts[hi] as number;
  return {
    min: { class: classNames[lo] ?? String(lo), count: min },
    max: { class: classNames[hi] ?? String(hi), count: max },
    ratio: min === 0 ? Number.POSITIVE_INFINITY : Math.round((max / min) * 1000) / 1000,
  };
}
