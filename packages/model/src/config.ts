import { composeConfigSchema, loggingConfigSchema } from '@tfmlops/core';
import { dataConfigSchema } from '@tfmlops/data';
import { runtimeConfigSchema } from '@tfmlops/runtime';
import { z } from 'zod';
import { modelConfigSchema } from './architectures/model-config.ts';
import { exportConfigSchema } from './export-config.ts';
import { trackingConfigSchema } from './tracking/config.ts';
import { trainConfigSchema } from './train-config.ts';

export { type TrainConfig, trainConfigSchema } from './train-config.ts';

/** Experiment names become directory names (runs/<name>/, <export.uri>/<name>/). */
export const EXPERIMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Source kinds whose images are digits: a mirrored digit is another symbol, so flipping them is refused. */
const DIGIT_SOURCES = new Set(['mnist']);

/** A whole experiment file as `pnpm train` reads it: every section, strictly, with cross-section checks. */
export const experimentConfigSchema = composeConfigSchema({
  name: z
    .string()
    .regex(EXPERIMENT_NAME, 'letters, digits, ".", "_" or "-", starting with a letter or digit')
    .max(100)
    .optional()
    .describe(
      "The experiment's name, used for runs/<name>/ and the model bundle; default: the config file's base name",
    ),
  requires: z
    .array(z.string().min(1))
    .default([])
    .describe(
      'Experiments this one builds on (a config file: a bare name in configs/ or a path relative to this file), e.g. the base of a fine-tuning: `pnpm train` trains each first when its model bundle (<export.uri>/<name>/latest.json) is missing',
    ),
  runtime: runtimeConfigSchema,
  data: dataConfigSchema,
  model: modelConfigSchema,
  train: trainConfigSchema,
  tracking: trackingConfigSchema.describe(
    'Run tracking: the run directory is always written; this section adds Weights & Biases',
  ),
  export: exportConfigSchema,
  logging: loggingConfigSchema,
}).superRefine((config, context) => {
  if (config.train.augmentation.flip && DIGIT_SOURCES.has(config.data.source.kind)) {
    context.addIssue({
      code: 'custom',
      path: ['train', 'augmentation', 'flip'],
      message: `flipping ${config.data.source.kind} images changes what they show (a mirrored digit is not that digit); use shift or crop`,
      input: true,
    });
  }
});

/** A parsed experiment; `name` is always set once loaded (see `loadExperimentConfig`). */
export type ExperimentConfig = Omit<z.output<typeof experimentConfigSchema>, 'name'> & { name: string };
