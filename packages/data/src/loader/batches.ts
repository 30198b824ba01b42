import * as tf from '@tensorflow/tfjs-core';
import { createRandom, deriveSeed, type Random, shuffleInPlace } from '@tfmlops/core';
import type { ShardEntry, SplitName } from '../format/manifest.ts';
import type { Shard } from '../format/shard.ts';
import { normalizationTable, normalizePixels } from '../preprocess/normalize.ts';
import type { AugmentFn } from './augment.ts';

/** One batch. `xs`: float32 [B,H,W,C], normalised with the train split's mean/std; `ys`: see `labels`. */
export interface Batch {
  xs: tf.Tensor;
  ys: tf.Tensor;
}

export interface BatchOptions {
  batchSize: number;
  /** Seeded shuffle (shard order + shuffle buffer, or a full shuffle in memory). Default true. */
  shuffle?: boolean;
  /** Same seed -> same batches; pass `seed + epoch` for a new order each epoch. Default 0. */
  seed?: number;
  /** `onehot`: float32 [B, numClasses] (default); `index`: int32 [B]. */
  labels?: 'onehot' | 'index';
  /** Drop a last batch smaller than batchSize. Default false. */
  dropRemainder?: boolean;
  /** Applied to each batch's normalised pixels before they become a tensor (random flips, shifts...). */
  augment?: AugmentFn;
  /** Images held for the streaming shuffle (datasets larger than the memory budget). Default 8192. */
  shuffleBufferSize?: number;
}

/** What the loader needs from a dataset (implemented by PreparedDataset). */
export interface BatchSource {
  readonly classNames: string[];
  readonly imageShape: [number, number, number];
  readonly manifest: { normalization: { mean: number[]; std: number[] } };
  readonly inMemory: boolean;
  shards(split: SplitName): ShardEntry[];
  readShard(entry: ShardEntry): Promise<Shard>;
}

interface SampleRef {
  shard: Shard;
  index: number;
}

/**
 * Yields batches of one split. Small datasets (within the memory budget) are read once and fully shuffled per call;
 * larger ones stream: shards in seeded random order, one shard prefetched ahead, samples drawn at random from a
 * buffer of `shuffleBufferSize` images — so memory stays at about buffer + two shards whatever the dataset size.
 * Only the yielded tensors are allocated; the consumer disposes them.
 */
export async function* iterateBatches(
  source: BatchSource,
  split: SplitName,
  options: BatchOptions,
): AsyncGenerator<Batch> {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const shuffle = options.shuffle ?? true;
  const seed = options.seed ?? 0;
  const random = createRandom(deriveSeed(seed, 'batches', split));
  const augmentRandom = createRandom(deriveSeed(seed, 'augment', split));
  const entries = source.shards(split);
  if (shuffle) shuffleInPlace(entries, random);
  const samples = source.inMemory
    ? inMemorySamples(source, entries, shuffle, random)
    : streamSamples(source, entries, shuffle, random, Math.max(1, options.shuffleBufferSize ?? 8192));
  const builder = new BatchBuilder(source, options, augmentRandom);
  let pending: SampleRef[] = [];
  for await (const sample of samples) {
    pending.push(sample);
    if (pending.length === batchSize) {
      yield builder.build(pending);
      pending = [];
    }
  }
  if (pending.length > 0 && !options.dropRemainder) yield builder.build(pending);
}

async function* inMemorySamples(
  source: BatchSource,
  entries: ShardEntry[],
  shuffle: boolean,
  random: Random,
): AsyncGenerator<SampleRef> {
  const shards = await Promise.all(entries.map((entry) => source.readShard(entry)));
  const refs: SampleRef[] = [];
  for (const shard of shards)
    for (let index = 0; index < shard.count; index += 1) refs.push({ shard, index });
  if (shuffle) shuffleInPlace(refs, random);
  yield* refs;
}

async function* streamSamples(
  source: BatchSource,
  entries: ShardEntry[],
  shuffle: boolean,
  random: Random,
  bufferSize: number,
): AsyncGenerator<SampleRef> {
  let next = 0;
  const load = () => (next < entries.length ? source.readShard(entries[next++] as ShardEntry) : undefined);
  let prefetch = load();
  const buffer: SampleRef[] = [];
  while (prefetch || buffer.length > 0) {
    // Top the buffer up to its size before drawing, so early samples are as random as late ones.
    while (prefetch && (buffer.length < bufferSize || !shuffle)) {
      const shard = await prefetch;
      prefetch = load();
      for (let index = 0; index < shard.count; index += 1) buffer.push({ shard, index });
      if (!shuffle) break;
    }
    if (!shuffle) {
      yield* buffer.splice(0, buffer.length);
      continue;
    }
    // Draw until the buffer is one short of full, so the next pass always tops it up (or, at the end, drains it).
    const drawUntil = prefetch ? bufferSize - 1 : 0;
    while (buffer.length > drawUntil) {
      const j = Math.floor(random() * buffer.length);
      const picked = buffer[j] as SampleRef;
      buffer[j] = buffer[buffer.length - 1] as SampleRef;
      buffer.pop();
      yield picked;
    }
  }
}

/** Turns sample references into tensors: uint8 -> normalised float32 through a per-channel lookup table. */
class BatchBuilder {
  private readonly lut: Float32Array;
  private readonly imageSize: number;
  private readonly numClasses: number;

  constructor(
    private readonly source: BatchSource,
    private readonly options: BatchOptions,
    private readonly augmentRandom: Random,
  ) {
    const [height, width, channels] = source.imageShape;
    this.imageSize = height * width * channels;
    this.numClasses = source.classNames.length;
    this.lut = normalizationTable(source.manifest.normalization, channels);
  }

  build(refs: SampleRef[]): Batch {
    const [height, width, channels] = this.source.imageShape;
    const { imageSize, lut } = this;
    const xs = new Float32Array(refs.length * imageSize);
    const labels = new Int32Array(refs.length);
    refs.forEach(({ shard, index }, b) => {
      normalizePixels(shard.pixels, lut, channels, xs, {
        from: index * imageSize,
        to: b * imageSize,
        count: imageSize,
      });
      labels[b] = shard.labels[index] as number;
    });
    this.options.augment?.(xs, [refs.length, height, width, channels], this.augmentRandom);
    const xsTensor = tf.tensor4d(xs, [refs.length, height, width, channels], 'float32');
    if (this.options.labels === 'index') return { xs: xsTensor, ys: tf.tensor1d(labels, 'int32') };
    const onehot = new Float32Array(refs.length * this.numClasses);
    labels.forEach((label, b) => {
      onehot[b * this.numClasses + label] = 1;
    });
    return { xs: xsTensor, ys: tf.tensor2d(onehot, [refs.length, this.numClasses], 'float32') };
  }
}
