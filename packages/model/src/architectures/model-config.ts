import { z } from 'zod';

const cnnConfigSchema = z
  .strictObject({
    architecture: z
      .literal('cnn')
      .default('cnn')
      .describe(
        'The reference CNN of the benchmarks: conv 3x3x32 valid + ReLU, maxpool 2, conv 3x3x64 valid + ReLU, ' +
          'maxpool 2, flatten, dense 128 + ReLU (`embedding`), dense to classes (`logits`). Needs inputs of at ' +
          'least 10x10.',
      ),
    dropout: z
      .number()
      .min(0)
      .lt(1)
      .default(0)
      .describe(
        'Dropout rate between flatten and the 128-unit dense layer while training. 0 builds no dropout layer: ' +
          'exactly the reference network.',
      ),
  })
  .describe('`architecture: cnn`: the reference CNN.');

const resnetConfigSchema = z
  .strictObject({
    architecture: z
      .literal('resnet')
      .describe(
        'A residual network: a 3x3 conv stem with batch norm, then stages of basic residual blocks (two 3x3 ' +
          'convs with batch norm, identity or 1x1 projection shortcut), global average pooling (`embedding`) and ' +
          'a dense layer to classes (`logits`).',
      ),
    width: z
      .number()
      .int()
      .min(4)
      .max(512)
      .default(16)
      .describe('Filters of the stem and of the first stage; every later stage doubles them.'),
    stages: z
      .number()
      .int()
      .min(1)
      .max(8)
      .default(3)
      .describe(
        'Residual stages. Every stage after the first halves height and width (stride-2 first block), and ' +
          "each stage's output must stay at least 2x2: a 28x28 or 32x32 input fits up to 5 stages.",
      ),
    blocksPerStage: z
      .number()
      .int()
      .min(1)
      .max(16)
      .default(1)
      .describe(
        'Residual blocks per stage (the depth): the network has 2 x stages x blocksPerStage + 2 weight layers.',
      ),
  })
  .describe('`architecture: resnet`: a small ResNet with batch norm, width and depth from config.');

const vitConfigSchema = z
  .strictObject({
    architecture: z
      .literal('vit')
      .describe(
        'A vision transformer: non-overlapping patches embedded by a strided conv, a learned class token, ' +
          'learned position embeddings, pre-norm blocks of multi-head self-attention and a GELU MLP, the class ' +
          "token's final layer norm (`embedding`) and a dense layer to classes (`logits`).",
      ),
    patchSize: z
      .number()
      .int()
      .min(1)
      .default(7)
      .describe(
        'Side of the square patches, in pixels. Must divide the input height and width (28x28: 2, 4, 7 or ' +
          '14); tokens = (height/patch) x (width/patch) + 1, and attention costs grow with tokens squared.',
      ),
    dim: z
      .number()
      .int()
      .min(4)
      .max(4096)
      .default(64)
      .describe('Width of every token (the embedding size); must be a multiple of `heads`.'),
    depth: z.number().int().min(1).max(48).default(4).describe('Transformer blocks.'),
    heads: z
      .number()
      .int()
      .min(1)
      .default(4)
      .describe('Attention heads per block; each head attends over dim / heads channels.'),
    mlpRatio: z
      .number()
      .positive()
      .max(16)
      .default(2)
      .describe(
        "Hidden width of each block's MLP as a multiple of `dim` (rounded to a whole number of units).",
      ),
  })
  .describe('`architecture: vit`: a small vision transformer; every option shapes the network.');

const headConfigSchema = z
  .strictObject({
    pooling: z
      .enum(['avg', 'max', 'flatten'])
      .default('avg')
      .describe(
        'How features with spatial or token axes (the output of a conv or transformer layer) become a vector: ' +
          'global average, global max, or flatten. Ignored when the cut layer already outputs vectors.',
      ),
    units: z
      .array(z.number().int().positive())
      .default([128])
      .describe(
        'Hidden dense layers (ReLU) of the new head, in order; the last one is the `embedding` layer. [] puts ' +
          'the classifier straight on the pooled features (a linear probe).',
      ),
    dropout: z
      .number()
      .min(0)
      .lt(1)
      .default(0)
      .describe('Dropout rate on the pooled features while training; 0 builds no dropout layer.'),
  })
  .prefault({})
  .describe('The new classification head put on the frozen features.');

const unfreezeConfigSchema = z
  .strictObject({
    topLayers: z
      .number()
      .int()
      .min(1)
      .describe(
        'How many layers of the body to make trainable, counted from the cut point down and counting only ' +
          'layers that have weights (pooling, flatten and activations are skipped).',
      ),
    afterEpochs: z
      .number()
      .int()
      .min(1)
      .describe('Train the head alone for this many epochs, then unfreeze.'),
    learningRate: z
      .number()
      .positive()
      .describe(
        "Learning rate from the unfreeze on (usually 10-100x below the head's); the optimizer restarts with " +
          'fresh state.',
      ),
  })
  .describe('Optional second phase of fine-tuning: unfreeze the top of the body at a lower learning rate.');

const pretrainedConfigSchema = z
  .strictObject({
    architecture: z
      .literal('pretrained')
      .describe(
        'Transfer learning: load a TF.js LayersModel, keep it up to the layer `cutAt` as a frozen body, and ' +
          'train a new head on its features.',
      ),
    uri: z
      .string()
      .min(1)
      .describe(
        'Where the model is: a directory or model.json as a local path, file:// URI or gs:// URI (read through ' +
          'storage), or an https:// URL of a model.json (weight shards are fetched next to it). Any TF.js ' +
          "LayersModel loads, including models with this project's ViT layers.",
      ),
    cutAt: z
      .string()
      .min(1)
      .default('embedding')
      .describe(
        'Name of the layer whose output becomes the features; everything after it is dropped. The default ' +
          '`embedding` is the penultimate layer of every model this project trains.',
      ),
    head: headConfigSchema,
    unfreeze: unfreezeConfigSchema.optional(),
  })
  .describe('`architecture: pretrained`: fine-tune a saved model on new classes.');

/**
 * `model:` section of an experiment file: which network to build, chosen by `architecture` from the explicit
 * factory map, with that architecture's options. Absent, it is the reference CNN.
 */
export const modelConfigSchema = z
  .discriminatedUnion('architecture', [
    cnnConfigSchema,
    resnetConfigSchema,
    vitConfigSchema,
    pretrainedConfigSchema,
  ])
  .prefault({})
  .describe(
    'The network: `architecture` (cnn, resnet, vit or pretrained) and its options. Omitted: the reference CNN.',
  );

export type ModelConfig = z.output<typeof modelConfigSchema>;
export type ArchitectureName = ModelConfig['architecture'];
export type CnnConfig = Extract<ModelConfig, { architecture: 'cnn' }>;
export type ResnetConfig = Extract<ModelConfig, { architecture: 'resnet' }>;
export type VitConfig = Extract<ModelConfig, { architecture: 'vit' }>;
export type PretrainedConfig = Extract<ModelConfig, { architecture: 'pretrained' }>;
export type HeadConfig = PretrainedConfig['head'];
export type UnfreezeConfig = NonNullable<PretrainedConfig['unfreeze']>;

/** Every architecture's name, in the order the reference lists them. */
export const ARCHITECTURE_NAMES: readonly ArchitectureName[] = ['cnn', 'resnet', 'vit', 'pretrained'];
