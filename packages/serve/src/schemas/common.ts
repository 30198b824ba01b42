import { z } from 'zod';

/** Every error the service answers: a stable code, a message naming what was wrong, and how to fix it. */
export const errorResponseSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ example: 'IMAGE_UNDECODABLE' }),
      message: z.string(),
      hint: z.string().optional(),
    }),
  })
  .meta({ id: 'Error' });

export const modelRefSchema = z
  .object({
    name: z.string().meta({ description: "The bundle's name (the experiment's name, e.g. exp1)" }),
    version: z.string().meta({ example: '20261130T101500Z-3fa2b1c4' }),
  })
  .meta({ id: 'ModelRef' });

/** 4xx/5xx responses every prediction route can give. */
export const predictionErrorResponses = {
  400: errorResponseSchema,
  413: errorResponseSchema,
  415: errorResponseSchema,
  422: errorResponseSchema,
  503: errorResponseSchema,
};
