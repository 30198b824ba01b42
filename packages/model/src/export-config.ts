import { z } from 'zod';
import { QUANTIZATIONS } from './bundle/format.ts';

/** `export:` section: where the trained model bundle is published. */
export const exportConfigSchema = z
  .strictObject({
    uri: z
      .string()
      .min(1)
      .default('artifacts/models')
      .describe(
        'Root of model bundles: <uri>/<name>/<version>/ and <uri>/<name>/latest.json, written last (local path or gs://)',
      ),
    quantize: z
      .enum(QUANTIZATIONS)
      .default('none')
      .describe(
        'Weight storage of the bundle: none (float32), float16 (half the size) or uint8 (a quarter); size and test accuracy before and after are recorded',
      ),
  })
  .prefault({})
  .describe('The trained model bundle: model.json, weights, bundle.json (labels, normalisation, checksums)');
export type ExportConfig = z.output<typeof exportConfigSchema>;
