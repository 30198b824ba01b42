import { z } from 'zod';
import { preprocessSpecSchema } from './preprocess/spec.ts';
import { sourceConfigSchema } from './sources/index.ts';

/**
 * `preprocess:` in a config. Width, height and channels may be left out for sources that hand over decoded pixels
 * (MNIST, CIFAR): they then default to the source's own image size, so `{ source: { kind: mnist } }` just works.
 */
export const preprocessConfigSchema = preprocessSpecSchema.partial({
  width: true,
  height: true,
  channels: true,
});

/** `split:` in a config: seeded, stratified; `testFraction` only applies to sources without an official test set. */
export const splitConfigSchema = z
  .strictObject({
    seed: z.number().int().default(42),
    valFraction: z.number().min(0).max(0.9).default(0.1),
    testFraction: z.number().min(0).max(0.9).default(0.1),
  })
  .refine((split) => split.valFraction + split.testFraction < 1, {
    message: 'valFraction + testFraction must leave something to train on (< 1)',
  })
  .prefault({});

/** The `data:` section of an experiment file: where images come from and how they become a versioned dataset. */
export const dataConfigSchema = z.strictObject({
  /** Dataset name, the directory under `outputDir`; defaults to the source kind (`mnist`, `cifar10`, ...). */
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, ".", "_" or "-"')
    .optional(),
  source: sourceConfigSchema,
  /**
   * Keep only these classes (indices into the source's class list, or class names), re-indexed 0..k-1 in the order
   * listed with their names kept: `[5, 6, 7, 8, 9]` makes a 5-class MNIST of the digits 5-9. Gives its own version.
   */
  classes: z
    .array(z.union([z.number().int().min(0), z.string().min(1)]))
    .min(1, 'list at least one class, or leave `classes` out to keep them all')
    .optional(),
  /** Where sources keep downloads. */
  cacheDir: z.string().default('data/cache'),
  /** Root of prepared datasets (local path or gs://): versions go to `<outputDir>/<name>/<version>/`. */
  outputDir: z.string().default('data/processed'),
  preprocess: preprocessConfigSchema.prefault({}),
  split: splitConfigSchema,
  /** Target shard size; a shard holds floor(shardSizeMB MiB / image bytes) images (at least one). */
  shardSizeMB: z.number().positive().max(1024).default(32),
  /** Images decoded at once; default twice the CPU count (sharp runs one libvips thread per image). */
  concurrency: z.number().int().min(1).max(256).optional(),
});

export type DataConfig = z.output<typeof dataConfigSchema>;
export type DataConfigInput = z.input<typeof dataConfigSchema>;
