import { z } from 'zod';

/**
 * How every image becomes a model input, at training and at inference alike. It is stored in the dataset manifest and
 * in model bundles so `serve` runs exactly the pipeline the model was trained on.
 *
 * - `fit`: letterbox — scale to fit inside width x height, pad the rest with `background` (keeps the aspect ratio).
 * - `crop`: scale to cover width x height, then cut the centre (keeps the aspect ratio, loses the edges).
 * - `stretch`: scale each axis independently to exactly width x height.
 */
export const preprocessSpecSchema = z.strictObject({
  width: z.number().int().min(1).max(4096).describe('Width of the model input in pixels'),
  height: z.number().int().min(1).max(4096).describe('Height of the model input in pixels'),
  resize: z
    .enum(['fit', 'crop', 'stretch'])
    .default('fit')
    .describe(
      'fit: letterbox inside width x height (aspect kept, padded with background); crop: cover and cut the centre; stretch: scale each axis',
    ),
  channels: z.union([z.literal(1), z.literal(3)]).describe('1 (grayscale) or 3 (RGB)'),
  /** Letterbox padding and the colour transparent pixels are flattened onto, as `#rrggbb`. */
  background: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'a colour as #rrggbb')
    .default('#000000')
    .describe('Letterbox padding and the colour transparent pixels are flattened onto, as #rrggbb'),
});

export type PreprocessSpec = z.output<typeof preprocessSpecSchema>;
/** What a config or caller may write: optional fields take their defaults. */
export type PreprocessSpecInput = z.input<typeof preprocessSpecSchema>;

/** Bytes of one preprocessed image (HWC uint8). */
export function imageBytes(spec: Pick<PreprocessSpec, 'width' | 'height' | 'channels'>): number {
  return spec.width * spec.height * spec.channels;
}
