import { rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DataError, joinUri, type Logger, type Storage, sha256Hex } from '@tfmlops/core';
import sharp from 'sharp';
import type { DataConfig } from '../config.ts';
import { CorruptImageError } from '../errors.ts';
import {
  computeDatasetVersion,
  DATASET_FORMAT_VERSION,
  type DatasetManifest,
  MANIFEST_FILE,
  type ShardEntry,
  SPLITS,
  type SplitName,
  serializeManifest,
} from '../format/manifest.ts';
import { encodeShard, labelBytesFor } from '../format/shard.ts';
import { configureSharpForBatches, preprocessImage } from '../preprocess/preprocess-image.ts';
import { imageBytes, type PreprocessSpec } from '../preprocess/spec.ts';
import { loadSource, type SourceConfig } from '../sources/index.ts';
import type { SourceDataset, SourceSample } from '../sources/types.ts';
import { mapLimit } from '../util/concurrency.ts';
import { canonicalJson } from '../util/hash.ts';
import { filterClasses } from './class-filter.ts';
import { findUpToDateVersion } from './existing.ts';
import { createStagingDir, publishVersion, removeAbandonedStaging, writeLatest } from './publish.ts';
import { splitSamples } from './split.ts';
import { ChannelStats } from './stats.ts';

export type LoadSourceFn = (
  config: SourceConfig,
  context: { storage: Storage; logger: Logger; cacheDir: string },
) => Promise<SourceDataset>;

export interface PrepareOptions {
  storage: Storage;
  logger: Logger;
  /** Root for prepared datasets; overrides `config.outputDir`. */
  outDir?: string;
  /** Rebuild even when an identical version exists (e.g. after its files were damaged). */
  force?: boolean;
  /** Where samples come from; defaults to the sources module's `loadSource` (tests inject their own). */
  loadSource?: LoadSourceFn;
}

export interface PrepareResult {
  /** `<outputDir>/<name>`: holds the versions and latest.json (the fixed path DVC tracks). */
  datasetUri: string;
  /** `<outputDir>/<name>/<version>`: the directory `openDataset` reads. */
  uri: string;
  version: string;
  manifest: DatasetManifest;
  /** True when an identical version already existed and nothing was rebuilt. */
  upToDate: boolean;
}

/**
 * Builds a versioned dataset from a data config: load the source, split it (seeded, stratified), preprocess every
 * image, write shards + manifest.json to a staging directory and publish it as `<outputDir>/<name>/<version>/` in one
 * step. Corrupt images are skipped and listed in the manifest. When a version built from the same inputs and
 * parameters exists and verifies, it is returned as up to date without any work.
 */
export async function prepareDataset(config: DataConfig, options: PrepareOptions): Promise<PrepareResult> {
  const { storage, logger } = options;
  const load = options.loadSource ?? loadSource;
  const loaded = await load(config.source, { storage, logger, cacheDir: config.cacheDir });
  validateSource(loaded);
  // A class subset is a dataset of its own: its class list (part of the inputs hash) gives it its own version.
  const source = filterClasses(loaded, config.classes);
  const datasetUri = datasetUriFor(config, options.outDir);
  const name = datasetNameFor(config);
  const spec = resolvePreprocessSpec(config, source);
  const shardMaxImages = Math.max(1, Math.floor((config.shardSizeMB * 1024 * 1024) / imageBytes(spec)));
  const useOfficialTest = source.hasOfficialTestSplit;
  const inputs = {
    formatVersion: DATASET_FORMAT_VERSION,
    name,
    source: { kind: source.source, fingerprint: source.fingerprint },
    classNames: source.classNames,
    preprocess: spec,
    split: config.split,
    shardMaxImages,
    // Pixels depend on the decoder: a new sharp/libvips is a new dataset version, never a silent change.
    decoder: { sharp: sharp.versions.sharp, vips: sharp.versions.vips },
  };
  const inputsHash = sha256Hex(canonicalJson(inputs));
  await removeAbandonedStaging(datasetUri, logger);
  if (!options.force) {
    const existing = await findUpToDateVersion(datasetUri, inputsHash, storage, logger);
    if (existing) {
      const { manifest, uri } = existing;
      await writeLatest(datasetUri, manifest.version, storage);
      logger.info({ dataset: name, version: manifest.version, uri }, 'dataset up to date');
      return { datasetUri, uri, version: manifest.version, manifest, upToDate: true };
    }
  }

  const started = Date.now();
  const split = splitSamples(source.samples, source.classNames.length, config.split, useOfficialTest);
  const staging = await createStagingDir(datasetUri);
  try {
    const built = await writeShards(source, split.indices, spec, shardMaxImages, staging, {
      concurrency: config.concurrency ?? availableParallelism() * 2,
      logger,
    });
    const content: Omit<DatasetManifest, 'version'> = {
      formatVersion: DATASET_FORMAT_VERSION,
      name,
      inputsHash,
      source: { kind: source.source, origin: source.origin, fingerprint: source.fingerprint },
      classNames: source.classNames,
      imageShape: [spec.height, spec.width, spec.channels],
      preprocess: spec,
      split: { ...config.split, testSource: split.testSource },
      shardMaxImages,
      labelBytes: labelBytesFor(source.classNames.length),
      counts: built.counts,
      normalization: built.normalization,
      shards: built.shards,
      skipped: built.skipped,
    };
    const manifest: DatasetManifest = { ...content, version: computeDatasetVersion(content) };
    await writeFile(join(staging, MANIFEST_FILE), serializeManifest(manifest));
    const uri = await publishVersion(staging, datasetUri, manifest, storage);
    logger.info(
      {
        dataset: name,
        version: manifest.version,
        uri,
        train: manifest.counts.train.total,
        val: manifest.counts.val.total,
        test: manifest.counts.test.total,
        skipped: manifest.skipped.length,
        seconds: (Date.now() - started) / 1000,
      },
      'dataset prepared',
    );
    return { datasetUri, uri, version: manifest.version, manifest, upToDate: false };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

interface BuiltShards {
  shards: ShardEntry[];
  counts: DatasetManifest['counts'];
  normalization: DatasetManifest['normalization'];
  skipped: DatasetManifest['skipped'];
}

async function writeShards(
  source: SourceDataset,
  indices: Record<SplitName, number[]>,
  spec: PreprocessSpec,
  shardMaxImages: number,
  staging: string,
  { concurrency, logger }: { concurrency: number; logger: Logger },
): Promise<BuiltShards> {
  configureSharpForBatches();
  const numClasses = source.classNames.length;
  const labelBytes = labelBytesFor(numClasses);
  const size = imageBytes(spec);
  const stats = new ChannelStats(spec.channels);
  const shards: ShardEntry[] = [];
  const skipped: DatasetManifest['skipped'] = [];
  const counts = {} as DatasetManifest['counts'];
  for (const split of SPLITS) {
    const perClass = new Array<number>(numClasses).fill(0);
    const order = indices[split];
    for (let start = 0, shardIndex = 0; start < order.length; start += shardMaxImages) {
      const chunk = order.slice(start, start + shardMaxImages);
      const images = await mapLimit(chunk, concurrency, (index) =>
        decodeSample(source.samples[index] as SourceSample, spec),
      );
      const labels: number[] = [];
      const pixels = new Uint8Array(images.filter((image) => image instanceof Uint8Array).length * size);
      images.forEach((image, i) => {
        const sample = source.samples[chunk[i] as number] as SourceSample;
        if (image instanceof CorruptImageError) {
          skipped.push({ id: sample.id, split, reason: image.message });
          return;
        }
        pixels.set(image, labels.length * size);
        labels.push(sample.label);
        perClass[sample.label] = (perClass[sample.label] as number) + 1;
      });
      if (labels.length === 0) continue;
      if (split === 'train') stats.add(pixels);
      const file = `${split}-${String(shardIndex).padStart(5, '0')}.bin`;
      shardIndex += 1;
      const data = encodeShard(
        { height: spec.height, width: spec.width, channels: spec.channels, labelBytes },
        labels,
        pixels,
      );
      await writeFile(join(staging, file), data);
      shards.push({ file, split, count: labels.length, bytes: data.length, sha256: sha256Hex(data) });
      logger.debug({ file, images: labels.length }, 'wrote shard');
    }
    counts[split] = { total: perClass.reduce((a, b) => a + b, 0), perClass };
  }
  if (skipped.length > 0) {
    logger.warn(
      { skipped: skipped.length, first: skipped.slice(0, 5) },
      'corrupt images skipped (listed in manifest.json)',
    );
  }
  return { shards, counts, normalization: stats.result(), skipped };
}

async function decodeSample(
  sample: SourceSample,
  spec: PreprocessSpec,
): Promise<Uint8Array | CorruptImageError> {
  try {
    const input = sample.image.kind === 'raw' ? sample.image : await sample.image.read();
    return await preprocessImage(input, spec);
  } catch (error) {
    if (error instanceof CorruptImageError) return error;
    throw error;
  }
}

function validateSource(source: SourceDataset): void {
  const numClasses = source.classNames.length;
  if (numClasses === 0) {
    throw new DataError('DATA_NO_CLASSES', `source ${source.source} (${source.origin}) has no classes`, {
      hint: 'an image folder needs one sub-directory per class',
    });
  }
  for (const sample of source.samples) {
    if (!Number.isInteger(sample.label) || sample.label < 0 || sample.label >= numClasses) {
      throw new DataError(
        'DATA_BAD_LABEL',
        `sample ${sample.id} has label ${sample.label}; the source has ${numClasses} classes`,
      );
    }
  }
}

/** The dataset's name: `data.name`, or the source kind. */
export function datasetNameFor(config: DataConfig): string {
  return config.name ?? config.source.kind;
}

/** `<outputDir>/<name>`: where a config's versions and latest.json live (what DVC tracks and `openDataset` takes). */
export function datasetUriFor(config: DataConfig, outDir?: string): string {
  return joinUri(outDir ?? config.outputDir, datasetNameFor(config));
}

/** Fills width/height/channels left out of the config from the source's decoded images. */
export function resolvePreprocessSpec(config: DataConfig, source: SourceDataset): PreprocessSpec {
  const { width, height, channels } = config.preprocess;
  if (width !== undefined && height !== undefined && channels !== undefined) {
    return { ...config.preprocess, width, height, channels };
  }
  const raw = source.samples.find((sample) => sample.image.kind === 'raw')?.image;
  if (raw?.kind !== 'raw') {
    throw new ConfigError(
      `data.preprocess needs width, height and channels for the ${source.source} source (its images are files of any size)`,
      { hint: 'set e.g. `preprocess: { width: 64, height: 64, channels: 3 }` under `data:`' },
    );
  }
  return {
    ...config.preprocess,
    width: width ?? raw.width,
    height: height ?? raw.height,
    channels: channels ?? raw.channels,
  };
}
