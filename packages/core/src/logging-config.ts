import { z } from 'zod';

/** `logging:` section of an experiment file. */
export const loggingConfigSchema = z
  .strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .prefault({});
export type LoggingConfig = z.output<typeof loggingConfigSchema>;
