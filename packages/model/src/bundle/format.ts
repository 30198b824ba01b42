import { preprocessSpecSchema } from '@tfmlops/data';
import { z } from 'zod';
import { referenceStatisticsSchema } from './reference.ts';

/**
 * The model bundle: the contract between training and serving. A directory (local or gs://) holding
 *
 *   model.json            TF.js LayersModel topology + weights manifest (TF.js's own layout)
 *   group1-shard*of*.bin  weight shards, float32 or quantized (uint8 / float16) as the manifest says
 *   reference.json        reference statistics of the validation split, for drift monitoring
 *   bundle.json           this file: everything else a user needs to reproduce a prediction, and a SHA-256 per file
 *
 * Bundles are published to `<export.uri>/<name>/<version>/`, then `<export.uri>/<name>/latest.json` (a
 * {@link LatestPointer}) is written last, so a reader that follows `latest.json` only ever sees complete bundles.
 */
export const BUNDLE_FORMAT_VERSION = 1;
export const BUNDLE_FILE = 'bundle.json';
export const MODEL_FILE = 'model.json';
export const REFERENCE_FILE = 'reference.json';
export const LATEST_POINTER_FILE = 'latest.json';
export const QUANTIZATIONS = ['none', 'float16', 'uint8'] as const;
export type Quantization = (typeof QUANTIZATIONS)[number];

const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex digits');

/** `<UTC yyyymmddThhmmssZ>-<8 hex of the weights' SHA-256>`: sorts by time, differs for different weights. */
export const bundleVersionSchema = z
  .string()
  .regex(/^\d{8}T\d{6}Z-[0-9a-f]{8}$/, 'a bundle version like 20261130T101500Z-3fa2b1c4');

export const bundleNameSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]*$/,
    'lowercase letters, digits, ".", "_" or "-", starting with a letter or digit',
  );

export const bundleFileSchema = z.strictObject({
  /** Path relative to the bundle directory, `/`-separated. */
  path: z.string().regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/),
  sha256: sha256Schema,
  bytes: z.number().int().nonnegative(),
});
export type BundleFile = z.output<typeof bundleFileSchema>;

export const bundleManifestSchema = z.strictObject({
  formatVersion: z.literal(BUNDLE_FORMAT_VERSION),
  /** The experiment's name (exp1.yaml trains `exp1`); the service reports it as `model.name`. */
  name: bundleNameSchema,
  version: bundleVersionSchema,
  createdAt: z.iso.datetime(),
  /** Class labels in the order of the model's outputs. */
  labels: z.array(z.string()).min(1),
  /** One input image, [height, width, channels]; the model takes NHWC float32 batches of it. */
  inputShape: z.tuple([
    z.number().int().positive(),
    z.number().int().positive(),
    z.number().int().positive(),
  ]),
  /** How an image file becomes `inputShape` uint8 pixels (the data package's `preprocessImage`). */
  preprocess: preprocessSpecSchema,
  /**
   * Per-channel normalisation in [0,1] pixel units, applied outside the model: `x = (pixel / 255 - mean) / std` on
   * the NHWC float32 input. A channel whose std is 0 is divided by 1.
   */
  normalization: z.strictObject({ mean: z.array(z.number()), std: z.array(z.number()) }),
  model: z.strictObject({
    architecture: z.string(),
    format: z.literal('tfjs-layers-model'),
    /** `logits`: apply softmax for probabilities (the networks leave softmax to the loss and to inference). */
    outputs: z.enum(['logits', 'probabilities']),
    /** The layer whose output is the penultimate-layer embedding (for drift monitoring). */
    embeddingLayer: z.string().nullable(),
    parameters: z.number().int().nonnegative(),
  }),
  quantization: z.strictObject({
    dtype: z.enum(QUANTIZATIONS),
    /** Weight bytes and test accuracy of the float32 model and of this bundle's weights (null when not measured). */
    before: z.strictObject({
      weightBytes: z.number().int().nonnegative(),
      accuracy: z.number().min(0).max(1).nullable(),
    }),
    after: z.strictObject({
      weightBytes: z.number().int().nonnegative(),
      accuracy: z.number().min(0).max(1).nullable(),
    }),
  }),
  /** Evaluation results; accuracies are fractions in [0,1]. */
  metrics: z.record(z.string(), z.number().nullable()),
  dataset: z.strictObject({ name: z.string(), version: z.string(), uri: z.string() }),
  /** The resolved experiment config the model was trained with. */
  config: z.record(z.string(), z.unknown()),
  git: z.strictObject({ commit: z.string().nullable(), dirty: z.boolean().nullable() }),
  /** The run directory that produced it, when known. */
  run: z.string().nullable(),
  /** Every file of the bundle but bundle.json itself (whose hash the latest.json pointer carries). */
  files: z.array(bundleFileSchema).min(1),
});
export type BundleManifest = z.output<typeof bundleManifestSchema>;

/** `<export.uri>/<name>/latest.json`: names the newest published version of an experiment's bundles. */
export const latestPointerSchema = z.strictObject({
  name: bundleNameSchema,
  version: bundleVersionSchema,
  /** The bundle directory relative to this file (normally `<version>`), so a bucket can be copied or moved. */
  path: z.string().regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/),
  /** SHA-256 of that bundle's bundle.json: the pointer pins the whole bundle. */
  bundleSha256: sha256Schema,
  createdAt: z.iso.datetime(),
});
export type LatestPointer = z.output<typeof latestPointerSchema>;

export { referenceStatisticsSchema };
