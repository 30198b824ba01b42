import { z } from 'zod';

/**
 * One logged prediction, a line of the prediction log's JSONL objects. It carries what drift monitoring compares with
 * the bundle's reference statistics (per-channel image mean/std of the preprocessed input, the top-1 class and its
 * probability, the penultimate-layer embedding), so the offline report can be computed from the log alone.
 */
export const predictionRecordSchema = z.object({
  time: z.iso.datetime(),
  request_id: z.string(),
  api: z.enum(['predict', 'predict_batch', 'oip']),
  model: z.object({ name: z.string(), version: z.string() }),
  image: z.object({
    /** The model input's size ([height, width, channels] after preprocessing). */
    shape: z.tuple([z.number().int(), z.number().int(), z.number().int()]),
    /** Per channel, pixel values in [0,1] of the preprocessed input (what the model saw, before normalisation). */
    mean: z.array(z.number()),
    std: z.array(z.number()),
  }),
  /** Top-k, most probable first. */
  predictions: z.array(z.object({ label: z.string(), probability: z.number() })),
  /** Index (in the bundle's label order) and probability of the top-1 class. */
  predicted_index: z.number().int().nonnegative(),
  confidence: z.number(),
  latency_ms: z.number(),
  embedding: z.array(z.number()).nullable(),
  /** The preprocessed input as PNG, only when raw image logging is enabled. */
  image_png_base64: z.string().optional(),
});
export type PredictionRecord = z.output<typeof predictionRecordSchema>;
