import { z } from 'zod';

const modelVersionSchema = z.object({ name: z.string(), version: z.string(), sha256: z.string() });

export const reloadResponseSchema = z
  .object({
    status: z.enum(['swapped', 'unchanged']),
    previous: modelVersionSchema.nullable(),
    current: modelVersionSchema,
  })
  .meta({ id: 'ReloadResult' });
