import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRandom } from '@tfmlops/core';
import type { Batch } from '@tfmlops/data';
import { z } from 'zod';

/**
 * Reference statistics of the validation split, written into every bundle as reference.json: what "normal" inputs
 * and outputs look like, so the service can tell when live traffic drifts away from them. Every feature keeps a
 * fixed-edge histogram (for PSI and chi-square) and a seeded random sample of raw values (for KS and MMD).
 */
const histogramSchema = z.strictObject({
  /** Bin edges, ascending, `counts.length + 1` of them; values outside go to the first or last bin. */
  edges: z.array(z.number()).min(2),
  counts: z.array(z.number().int().nonnegative()),
});
export type Histogram = z.output<typeof histogramSchema>;

const featureSchema = z.strictObject({ histogram: histogramSchema, sample: z.array(z.number()) });
export type FeatureReference = z.output<typeof featureSchema>;

export const referenceStatisticsSchema = z.strictObject({
  split: z.string(),
  /** Images the statistics were computed on. */
  count: z.number().int().nonnegative(),
  /** Per channel: the distribution of each image's mean and standard deviation, pixel values in [0,1]. */
  pixels: z.array(z.strictObject({ mean: featureSchema, std: featureSchema })),
  /** How often each class (label order) was predicted. */
  predictedClass: z.array(z.number().int().nonnegative()),
  /** The distribution of the top-1 probability. */
  confidence: featureSchema,
  /** Penultimate-layer activations of a random sample of images (null when the model names no such layer). */
  embeddings: z
    .strictObject({
      layer: z.string(),
      dimensions: z.number().int().positive(),
      sample: z.array(z.array(z.number())),
    })
    .nullable(),
});
export type ReferenceStatistics = z.output<typeof referenceStatisticsSchema>;

/** Histogram edges shared by training and serving: pixel means and confidences live in [0,1], stds in [0,0.5]. */
export const REFERENCE_BINS = 20;
export const PIXEL_MEAN_RANGE: [number, number] = [0, 1];
export const PIXEL_STD_RANGE: [number, number] = [0, 0.5];
export const CONFIDENCE_RANGE: [number, number] = [0, 1];

/**
 * Mean and standard deviation of each channel of one HWC image, pixel values scaled to [0,1]. The service computes
 * these on live uint8 inputs with this same function, so live and reference features are the same quantity.
 */
export function imageChannelStats(
  pixels: ArrayLike<number>,
  channels: number,
  scale = 1 / 255,
): { mean: number[]; std: number[] } {
  const sums = new Float64Array(channels);
  const squares = new Float64Array(channels);
  const count = pixels.length / channels;
  for (let i = 0; i < pixels.length; i += 1) {
    const value = (pixels[i] as number) * scale;
    const c = i % channels;
    sums[c] = (sums[c] as number) + value;
    squares[c] = (squares[c] as number) + value * value;
  }
  const mean = Array.from(sums, (sum) => sum / count);
  const std = Array.from(squares, (square, c) =>
    Math.sqrt(Math.max(0, square / count - (mean[c] as number) ** 2)),
  );
  return { mean, std };
}

/** Equal-width edges over `[low, high]`. */
export function equalWidthEdges([low, high]: [number, number], bins = REFERENCE_BINS): number[] {
  return Array.from({ length: bins + 1 }, (_, i) => low + ((high - low) * i) / bins);
}

/** Counts `values` into the bins of `edges`; values below or above the range land in the first or last bin. */
export function histogram(values: Iterable<number>, edges: number[]): Histogram {
  const counts = new Array<number>(edges.length - 1).fill(0);
  for (const value of values) {
    let bin = 0;
    while (bin < counts.length - 1 && value >= (edges[bin + 1] as number)) bin += 1;
    counts[bin] = (counts[bin] as number) + 1;
  }
  return { edges, counts };
}

export interface ReferenceOptions {
  /** Batches of the split (normalised xs, one-hot ys), as the data package's loader yields them; disposed here. */
  batches: AsyncIterable<Batch>;
  split: string;
  normalization: { mean: number[]; std: number[] };
  numClasses: number;
  /** Layer whose output is the embedding (null: no embeddings). */
  embeddingLayer: string | null;
  /** Raw values kept per scalar feature (default 1000) and embeddings kept (default 500). */
  sampleSize?: number;
  embeddingSampleSize?: number;
  seed?: number;
}

/**
 * Runs the model over a split and collects its reference statistics. Tensor count is unchanged afterwards; samples
 * are drawn by seeded reservoir sampling, so the same model and data give the same reference.json.
 */
export async function computeReferenceStatistics(
  model: tfl.LayersModel,
  options: ReferenceOptions,
): Promise<ReferenceStatistics> {
  const { normalization, numClasses, embeddingLayer } = options;
  const sampleSize = options.sampleSize ?? 1000;
  const embeddingSampleSize = options.embeddingSampleSize ?? 500;
  const random = createRandom(options.seed ?? 0);
  const probe = embeddingLayer
    ? tfl.model({
        inputs: model.inputs,
        outputs: [model.getLayer(embeddingLayer).output as tfl.SymbolicTensor, ...model.outputs],
      })
    : undefined;

  let channels = normalization.mean.length;
  const means: Reservoir[] = [];
  const stds: Reservoir[] = [];
  const confidence = new Reservoir(sampleSize, random);
  const embeddings = new Reservoir<number[]>(embeddingSampleSize, random, false);
  const predictedClass = new Array<number>(numClasses).fill(0);
  let dimensions = 0;
  let count = 0;
  for await (const batch of options.batches) {
    const [size, , , depth] = batch.xs.shape as [number, number, number, number];
    channels = depth;
    while (means.length < channels) {
      means.push(new Reservoir(sampleSize, random));
      stds.push(new Reservoir(sampleSize, random));
    }
    const { pixels, probabilities, embedding } = tf.tidy(() => {
      const std = normalization.std.map((s) => (s > 1e-8 ? s : 1));
      const raw = tf.add(
        tf.mul(batch.xs, tf.tensor1d(std)),
        tf.tensor1d(normalization.mean.slice(0, channels)),
      );
      const outputs = probe
        ? (probe.predict(batch.xs) as tf.Tensor[])
        : [model.predict(batch.xs) as tf.Tensor];
      const logits = outputs[outputs.length - 1] as tf.Tensor;
      return {
        pixels: raw.dataSync() as Float32Array,
        probabilities: tf.softmax(logits).dataSync() as Float32Array,
        embedding: probe
          ? { values: tf.reshape(outputs[0]!, [size, -1]).arraySync() as number[][] }
          : undefined,
      };
    });
    tf.dispose([batch.xs, batch.ys]);
    const imageSize = pixels.length / size;
    for (let b = 0; b < size; b += 1) {
      const stats = imageChannelStats(pixels.subarray(b * imageSize, (b + 1) * imageSize), channels, 1);
      for (let c = 0; c < channels; c += 1) {
        means[c]!.offer(stats.mean[c]!);
        stds[c]!.offer(stats.std[c]!);
      }
      let best = 0;
      for (let k = 1; k < numClasses; k += 1)
        if (probabilities[b * numClasses + k]! > probabilities[b * numClasses + best]!) best = k;
      predictedClass[best] = (predictedClass[best] as number) + 1;
      confidence.offer(probabilities[b * numClasses + best] as number);
      if (embedding) {
        const row = embedding.values[b] as number[];
        dimensions = row.length;
        embeddings.offer(row.map((v) => Math.round(v * 1e5) / 1e5));
      }
    }
    count += size;
  }
  const feature = (reservoir: Reservoir, range: [number, number]): FeatureReference => ({
    histogram: histogram(reservoir.all, equalWidthEdges(range)),
    sample: reservoir.items.map((v) => Math.round(v * 1e6) / 1e6),
  });
  return {
    split: options.split,
    count,
    pixels: means.map((mean, c) => ({
      mean: feature(mean, PIXEL_MEAN_RANGE),
      std: feature(stds[c]!, PIXEL_STD_RANGE),
    })),
    predictedClass,
    confidence: feature(confidence, CONFIDENCE_RANGE),
    embeddings:
      embeddingLayer && dimensions > 0
        ? { layer: embeddingLayer, dimensions, sample: embeddings.items }
        : null,
  };
}

/**
 * Keeps a uniform random sample of at most `capacity` items (Algorithm R) and, unless told not to, every value
 * (`all`): the histograms count the whole split, the sample bounds what reference.json carries.
 */
class Reservoir<T = number> {
  readonly items: T[] = [];
  readonly all: T[] = [];
  private seen = 0;

  constructor(
    private readonly capacity: number,
    private readonly random: () => number,
    private readonly keepAll = true,
  ) {}

  offer(item: T): void {
    if (this.keepAll) this.all.push(item);
    this.seen += 1;
    if (this.items.length < this.capacity) this.items.push(item);
    else {
      const j = Math.floor(this.random() * this.seen);
      if (j < this.capacity) this.items[j] = item;
    }
  }
}
