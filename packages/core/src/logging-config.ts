import { z } from 'zod';

/** `logging:` section of an experiment file. */
export const loggingConfigSchema = z
  .strictObject({
    level: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('Least severe log level written'),
  })
  .prefault({})
  .describe('Logs: JSON lines for machines, pretty on a terminal');
export type LoggingConfig = z.output<typeof loggingConfigSchema>;
