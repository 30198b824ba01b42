import { z } from 'zod';
import { modelRefSchema } from './common.ts';

export const healthResponseSchema = z.object({ status: z.literal('ok') });

export const readinessResponseSchema = z
  .object({
    status: z.enum(['ready', 'loading', 'failed', 'draining']),
    model: modelRefSchema.nullable(),
  })
  .meta({ id: 'Readiness' });

export const modelInfoResponseSchema = z
  .object({
    name: z.string(),
    version: z.string(),
    labels: z.array(z.string()),
    inputShape: z.tuple([z.number(), z.number(), z.number()]),
    preprocess: z.record(z.string(), z.unknown()),
    backend: z.string(),
    metrics: z.record(z.string(), z.number().nullable()),
    createdAt: z.string(),
  })
  .meta({ id: 'ModelInfo' });
