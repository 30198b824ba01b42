import { z } from 'zod';

/** `export:` section: where the trained model goes. The bundle module's schema replaces this one when it lands. */
export const exportConfigSchema = z
  .strictObject({
    uri: z
      .string()
      .min(1)
      .default('artifacts/models')
      .describe(
        'Root of model bundles: <uri>/<name>/<version>/ and <uri>/<name>/latest.json (local path or gs://)',
      ),
  })
  .prefault({})
  .describe('The trained model bundle');
export type ExportConfig = z.output<typeof exportConfigSchema>;
