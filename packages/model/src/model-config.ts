import { z } from 'zod';

/**
 * `model:` section of an experiment file: which network to build. The one place the experiment schema takes it
 * from, so the architectures module's own schema (cnn | resnet | vit | pretrained) replaces this in one line.
 */
export const modelConfigSchema = z
  .strictObject({
    architecture: z.enum(['cnn']).default('cnn').describe('Network to build, from the architecture map'),
  })
  .prefault({})
  .describe('The network');
export type ModelConfig = z.output<typeof modelConfigSchema>;
