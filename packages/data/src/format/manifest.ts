import { sha256Hex } from '@tfmlops/core';
import { z } from 'zod';
import { preprocessSpecSchema } from '../preprocess/spec.ts';
import { canonicalJson } from '../util/hash.ts';

/** Version of the dataset directory layout and manifest; bumped on any incompatible change. */
export const DATASET_FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
/** Pointer file in `<outputDir>/<name>/` naming the newest prepared version. */
export const LATEST_FILE = 'latest.json';
export const SPLITS = ['train', 'val', 'test'] as const;

const splitNameSchema = z.enum(SPLITS);

const splitCountsSchema = z.strictObject({
  total: z.number().int().nonnegative(),
  /** Images per class, indexed like `classNames`. */
  perClass: z.array(z.number().int().nonnegative()),
});

export const shardEntrySchema = z.strictObject({
  file: z.string().regex(/^[a-z]+-\d{5}\.bin$/),
  split: splitNameSchema,
  count: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const splitParamsSchema = z.strictObject({
  seed: z.number().int(),
  valFraction: z.number().min(0).max(0.9),
  testFraction: z.number().min(0).max(0.9),
});

/**
 * manifest.json of a prepared dataset version. Everything in it is deterministic (no timestamps, no absolute temp
 * paths), so preparing the same inputs with the same parameters produces byte-identical files and the same version.
 */
export const manifestSchema = z.strictObject({
  formatVersion: z.literal(DATASET_FORMAT_VERSION),
  name: z.string(),
  /** Content hash: {@link computeDatasetVersion} over everything else in this file, shard hashes included. */
  version: z.string().regex(/^[0-9a-f]{16}$/),
  /** Hash of the inputs and parameters alone; a re-run with the same `inputsHash` finds this version up to date. */
  inputsHash: z.string().regex(/^[0-9a-f]{64}$/),
  source: z.strictObject({ kind: z.string(), origin: z.string(), fingerprint: z.string() }),
  classNames: z.array(z.string()).min(1),
  /** [height, width, channels]. */
  imageShape: z.tuple([
    z.number().int().positive(),
    z.number().int().positive(),
    z.number().int().positive(),
  ]),
  preprocess: preprocessSpecSchema,
  split: splitParamsSchema.extend({
    /** `official`: the source's own test set was kept; `carved`: test was drawn from the pool like val. */
    testSource: z.enum(['official', 'carved']),
  }),
  shardMaxImages: z.number().int().positive(),
  labelBytes: z.union([z.literal(1), z.literal(2)]),
  counts: z.strictObject({ train: splitCountsSchema, val: splitCountsSchema, test: splitCountsSchema }),
  /** Per-channel mean and standard deviation of the train split, pixel values scaled to [0, 1]. */
  normalization: z.strictObject({ mean: z.array(z.number()), std: z.array(z.number()) }),
  shards: z.array(shardEntrySchema),
  /** Samples that could not be decoded: skipped, never silently dropped. */
  skipped: z.array(z.strictObject({ id: z.string(), split: splitNameSchema, reason: z.string() })),
});

export type DatasetManifest = z.output<typeof manifestSchema>;
export type SplitName = (typeof SPLITS)[number];
export type ShardEntry = z.output<typeof shardEntrySchema>;
export type SplitParams = z.output<typeof splitParamsSchema>;

/**
 * The dataset version: 16 hex digits of SHA-256 over the canonical manifest content without `version` itself and
 * without `source.origin` — where the inputs sat (an absolute path in one checkout) is provenance, not content, and
 * `source.fingerprint` already pins the inputs, so the same data prepared in two checkouts gets the same version.
 */
export function computeDatasetVersion(manifest: Omit<DatasetManifest, 'version'>): string {
  const { version: _ignored, source, ...content } = manifest as DatasetManifest;
  return sha256Hex(
    canonicalJson({ ...content, source: { kind: source.kind, fingerprint: source.fingerprint } }),
  ).slice(0, 16);
}

/** The file text of a manifest: canonical key order, two-space indent, trailing newline. */
export function serializeManifest(manifest: DatasetManifest): string {
  return `${canonicalJson(manifest, 2)}\n`;
}
