import { z } from 'zod';
import { modelRefSchema } from './common.ts';

export const DEFAULT_TOP_K = 5;

export const predictQuerySchema = z.object({
  top_k: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(DEFAULT_TOP_K)
    .meta({ description: 'How many classes to return, most probable first (at most the number of labels)' }),
});

export const labelProbabilitySchema = z
  .object({ label: z.string(), probability: z.number().min(0).max(1) })
  .meta({ id: 'LabelProbability' });

export const predictResponseSchema = z
  .object({
    model: modelRefSchema,
    predictions: z.array(labelProbabilitySchema),
    latency_ms: z.number().meta({ description: 'Time spent in the service, from request to response' }),
  })
  .meta({ id: 'PredictResponse' });

export const predictBatchResponseSchema = z
  .object({
    model: modelRefSchema,
    results: z.array(
      z.object({
        filename: z.string().nullable(),
        predictions: z.array(labelProbabilitySchema),
      }),
    ),
    latency_ms: z.number(),
  })
  .meta({ id: 'PredictBatchResponse' });
