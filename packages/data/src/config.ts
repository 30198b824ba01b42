import { z } from 'zod';
import { preprocessSpecSchema } from './preprocess/spec.ts';
import { sourceConfigSchema } from './sources/index.ts';

/**
 * `preprocess:` in a config. Width, height and channels may be left out for sources that hand over decoded pixels
 * (MNIST, CIFAR): they then default to the source's own image size, so `{ source: { kind: mnist } }` just works.
 */
export const preprocessConfigSchema = preprocessSpecSchema
  .partial({
    width: true,
    height: true,
    channels: true,
  })
  .describe(
    'How images become model inputs (the service applies the same); width, height and channels default to the source image size for MNIST and CIFAR',
  );

/** `split:` in a config: seeded, stratified; `testFraction` only applies to sources without an official test set. */
export const splitConfigSchema = z
  .strictObject({
    seed: z.number().int().default(42).describe('Seed of the stratified split'),
    valFraction: z
      .number()
      .min(0)
      .max(0.9)
      .default(0.1)
      .describe('Share of each class held out for validation'),
    testFraction: z
      .number()
      .min(0)
      .max(0.9)
      .default(0.1)
      .describe('Share of each class held out for test, for sources without an official test set'),
  })
  .refine((split) => split.valFraction + split.testFraction < 1, {
    message: 'valFraction + testFraction must leave something to train on (< 1)',
  })
  .prefault({})
  .describe('Train/val/test split: seeded and stratified');

/** The `data:` section of an experiment file: where images come from and how they become a versioned dataset. */
export const dataConfigSchema = z
  .strictObject({
    /** Dataset name, the directory under `outputDir`; defaults to the source kind (`mnist`, `cifar10`, ...). */
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, ".", "_" or "-"')
      .optional()
      .describe(
        'Dataset name, the directory under outputDir; default: the source kind (mnist, cifar10, ...)',
      ),
    source: sourceConfigSchema.describe('Where the images come from, by kind'),
    /**
     * Keep only these classes (indices into the source's class list, or class names), re-indexed 0..k-1 in the order
     * listed with their names kept: `[5, 6, 7, 8, 9]` makes a 5-class MNIST of the digits 5-9. Gives its own version.
     */
    classes: z
      .array(z.union([z.number().int().min(0), z.string().min(1)]))
      .min(1, 'list at least one class, or leave `classes` out to keep them all')
      .optional()
      .describe(
        "Keep only these classes (indices or names), re-indexed 0..k-1 in the order listed with their names kept: [5, 6, 7, 8, 9] is MNIST's digits 5-9 as a dataset of its own version",
      ),
    /** Where sources keep downloads. */
    cacheDir: z.string().default('data/cache').describe('Where sources keep their downloads'),
    /** Root of prepared datasets (local path or gs://): versions go to `<outputDir>/<name>/<version>/`. */
    outputDir: z
      .string()
      .default('data/processed')
      .describe('Root of prepared datasets: <outputDir>/<name>/<version>/ (local path or gs://)'),
    preprocess: preprocessConfigSchema.prefault({}),
    split: splitConfigSchema,
    /** Target shard size; a shard holds floor(shardSizeMB MiB / image bytes) images (at least one). */
    shardSizeMB: z
      .number()
      .positive()
      .max(1024)
      .default(32)
      .describe('Target shard size in MiB (at least one image per shard)'),
    /** Images decoded at once; default twice the CPU count (sharp runs one libvips thread per image). */
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(256)
      .optional()
      .describe('Images decoded at once; default twice the CPU count'),
  })
  .describe('The dataset: source, preprocessing, split, where versions are written');

export type DataConfig = z.output<typeof dataConfigSchema>;
export type DataConfigInput = z.input<typeof dataConfigSchema>;
