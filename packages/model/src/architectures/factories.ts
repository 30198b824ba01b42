import type * as tfl from '@tensorflow/tfjs-layers';
import { createCnn } from './cnn.ts';
import { loadPretrained, type PretrainedSource } from './load-pretrained.ts';
import type { ModelConfig } from './model-config.ts';
import { createPretrained } from './pretrained.ts';
import { createResnet } from './resnet.ts';
import type { ArchitectureOptions } from './types.ts';
import { createVit } from './vit.ts';

/**
 * Architectures by name: the YAML picks a key, never a class path. Every factory takes
 * `{ inputShape, numClasses, seed, ...its options }` and returns a model whose output is logits, with its
 * penultimate layer named `embedding` and its classifier `logits` (MODEL_LAYER_NAMES). `pretrained` takes the
 * loaded base model among its options; buildModel loads it.
 */
export const ARCHITECTURES = {
  cnn: createCnn,
  resnet: createResnet,
  vit: createVit,
  pretrained: createPretrained,
} as const;

/**
 * Builds the network a `model:` section describes, for images of `inputShape` and `numClasses` classes, with
 * initial weights from `seed`. For `pretrained` it loads the base model through `source` first (and disposes it
 * once its weights are copied). Call validateArchitecture first: it turns bad shapes into config errors.
 */
export async function buildModel(
  config: ModelConfig,
  options: ArchitectureOptions,
  source?: PretrainedSource,
): Promise<tfl.LayersModel> {
  switch (config.architecture) {
    case 'cnn': {
      const { architecture: _, ...own } = config;
      return ARCHITECTURES.cnn({ ...options, ...own });
    }
    case 'resnet': {
      const { architecture: _, ...own } = config;
      return ARCHITECTURES.resnet({ ...options, ...own });
    }
    case 'vit': {
      const { architecture: _, ...own } = config;
      return ARCHITECTURES.vit({ ...options, ...own });
    }
    case 'pretrained': {
      if (!source) throw new TypeError('buildModel needs a PretrainedSource to load a pretrained model');
      const base = await loadPretrained(config.uri, source);
      try {
        return ARCHITECTURES.pretrained({ ...options, base, cutAt: config.cutAt, head: config.head });
      } finally {
        base.dispose();
      }
    }
  }
}
