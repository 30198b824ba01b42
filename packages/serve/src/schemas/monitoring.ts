import { z } from 'zod';
import { modelRefSchema } from './common.ts';

export const driftRowSchema = z
  .object({
    feature: z.string().meta({ example: 'pixel_mean_c0' }),
    test: z.enum(['ks', 'chi-square', 'mmd']),
    score: z
      .number()
      .nullable()
      .meta({ description: "The test's p-value; null until the window holds minSamples inputs" }),
    statistic: z.number().nullable().meta({ description: 'KS D, chi-square, or MMD squared' }),
    threshold: z
      .number()
      .meta({ description: 'Drift when score < threshold (the level, Bonferroni-corrected over the rows)' }),
    drifted: z.boolean(),
    n: z
      .number()
      .int()
      .meta({ description: 'Live inputs the score was computed on (or in the window so far)' }),
  })
  .meta({ id: 'DriftRow' });

export const driftResponseSchema = z
  .object({
    model: modelRefSchema,
    window: z.object({
      inputs: z.number().int().meta({ description: 'Live inputs in the window now' }),
      size: z
        .number()
        .int()
        .meta({ description: 'DRIFT_WINDOW_SIZE: the window keeps the latest this many' }),
      minSamples: z
        .number()
        .int()
        .meta({ description: 'DRIFT_MIN_SAMPLES: tests run from this many inputs on' }),
    }),
    evaluatedAt: z.string().nullable(),
    rows: z.array(driftRowSchema),
  })
  .meta({ id: 'DriftReport' });
