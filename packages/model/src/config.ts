import { composeConfigSchema, loggingConfigSchema } from '@tfmlops/core';
import { dataConfigSchema } from '@tfmlops/data';
import { runtimeConfigSchema } from '@tfmlops/runtime';
import { z } from 'zod';
import { modelConfigSchema } from './architectures/model-config.ts';

/** `train:` section of an experiment file: the optimisation loop. */
export const trainConfigSchema = z
  .strictObject({
    epochs: z.number().int().positive().default(2),
    batchSize: z.number().int().positive().default(64),
    learningRate: z.number().positive().default(0.001),
    seed: z.number().int().default(42),
    /** Where runs (metrics, model) are written: a local path or gs:// prefix. */
    outputDir: z.string().default('runs'),
  })
  .prefault({});
export type TrainConfig = z.output<typeof trainConfigSchema>;

/** A whole experiment file as `pnpm train` reads it: every section, strictly. */
export const experimentConfigSchema = composeConfigSchema({
  runtime: runtimeConfigSchema,
  data: dataConfigSchema,
  model: modelConfigSchema,
  train: trainConfigSchema,
  logging: loggingConfigSchema,
});
export type ExperimentConfig = z.output<typeof experimentConfigSchema>;
