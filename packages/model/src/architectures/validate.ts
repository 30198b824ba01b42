import { ConfigError } from '@tfmlops/core';
import { CNN_MIN_SIDE } from './cnn.ts';
import { type PretrainedSource, readModelJson } from './load-pretrained.ts';
import type { ModelConfig, PretrainedConfig, ResnetConfig, VitConfig } from './model-config.ts';
import { ancestorsOf, summarizeTopology, weightedLayerNames } from './topology.ts';
import type { InputShape } from './types.ts';

/**
 * Checks that an architecture config fits the data before anything is built or written, and says what would fit
 * when it does not: patch sizes that divide the image, head counts that divide dim, how many ResNet stages the
 * image allows, the layer names of a pretrained model, its input shape. Every problem is a ConfigError (the CLI
 * exits 2). For `pretrained` it reads the model's model.json (not its weights) through `source`.
 */
export async function validateArchitecture(
  model: ModelConfig,
  inputShape: InputShape,
  numClasses: number,
  source?: PretrainedSource,
): Promise<void> {
  if (inputShape.length !== 3 || !inputShape.every((side) => Number.isInteger(side) && side >= 1)) {
    throw new ConfigError(`input shape [${inputShape.join(', ')}] is not [height, width, channels]`);
  }
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new ConfigError(`the dataset has ${numClasses} class(es); a classifier needs at least 2`, {
      hint: 'check the data section (a class filter that keeps a single class?)',
    });
  }
  switch (model.architecture) {
    case 'cnn':
      return validateCnn(inputShape);
    case 'resnet':
      return validateResnet(model, inputShape);
    case 'vit':
      return validateVit(model, inputShape);
    case 'pretrained':
      if (!source)
        throw new TypeError('validateArchitecture needs a PretrainedSource to check a pretrained model');
      return validatePretrained(model, inputShape, source);
  }
}

function validateCnn([height, width]: InputShape): void {
  if (Math.min(height, width) < CNN_MIN_SIDE) {
    throw new ConfigError(
      `the reference CNN needs images of at least ${CNN_MIN_SIDE}x${CNN_MIN_SIDE} (two valid 3x3 convs and two 2x2 pools); the dataset's are ${height}x${width}`,
      {
        hint: 'resize the images in the data preprocessing, or use model.architecture: resnet (same padding)',
      },
    );
  }
}

/** Spatial sides of each stage's output: the first keeps the input size, each later one halves (rounding up). */
export function resnetStageSides(side: number, stages: number): number[] {
  const sides = [side];
  for (let stage = 2; stage <= stages; stage += 1) sides.push(Math.ceil(sides[sides.length - 1]! / 2));
  return sides;
}

function validateResnet(model: ResnetConfig, [height, width]: InputShape): void {
  const side = Math.min(height, width);
  const sides = resnetStageSides(side, model.stages);
  const fitting = sides.filter((s) => s >= 2).length;
  if (fitting < model.stages) {
    const chain = resnetStageSides(side, fitting).join(' -> ');
    throw new ConfigError(
      `model.stages ${model.stages} is too deep for ${height}x${width} images: stage ${fitting + 1} would shrink the feature map below 2x2`,
      {
        hint:
          fitting >= 1
            ? `at most ${fitting} stage(s) fit (${chain}); set model.stages <= ${fitting}`
            : 'images must be at least 2x2',
      },
    );
  }
}

/** Divisors of n, ascending. */
function divisors(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);
}

function validateVit(model: VitConfig, [height, width]: InputShape): void {
  const { patchSize, dim, heads } = model;
  if (height % patchSize !== 0 || width % patchSize !== 0) {
    const common = divisors(height).filter((d) => width % d === 0);
    const sensible = common.filter((d) => d > 1 && d < Math.min(height, width));
    const fits = (sensible.length > 0 ? sensible : common).join(', ');
    const size = height === width ? `${height}` : `${height}x${width}`;
    throw new ConfigError(
      `model.patchSize ${patchSize} does not divide ${size}; patch sizes that fit: ${fits}`,
      {
        hint: 'patches tile the image without overlap or padding, so the patch side must divide height and width',
      },
    );
  }
  if (dim % heads !== 0) {
    const multiples = [Math.floor(dim / heads) * heads, Math.ceil(dim / heads) * heads].filter((d) => d > 0);
    throw new ConfigError(
      `model.heads ${heads} does not divide model.dim ${dim}; head counts that fit dim ${dim}: ${divisors(dim).join(', ')}`,
      { hint: `or make dim a multiple of ${heads}, such as ${[...new Set(multiples)].join(' or ')}` },
    );
  }
}

async function validatePretrained(
  model: PretrainedConfig,
  inputShape: InputShape,
  source: PretrainedSource,
): Promise<void> {
  const { modelJsonUri, modelJson } = await readModelJson(model.uri, source);
  const summary = summarizeTopology(modelJson.modelTopology);
  if (!summary) {
    throw new ConfigError(
      `pretrained model ${modelJsonUri}: its topology is neither Sequential nor functional`,
      {
        hint: 'only TF.js LayersModels (tf.sequential, tf.model or converted Keras models) can be fine-tuned',
      },
    );
  }
  const layer = summary.layers.find((candidate) => candidate.name === model.cutAt);
  const names = summary.layers.filter((l) => l.className !== 'InputLayer').map((l) => l.name);
  if (!layer || layer.className === 'InputLayer') {
    throw new ConfigError(
      layer
        ? `model.cutAt '${model.cutAt}' is the input layer of ${modelJsonUri}: nothing would be transferred`
        : `model.cutAt: ${modelJsonUri} has no layer '${model.cutAt}'`,
      { hint: `cut at one of its layers: ${names.join(', ')}` },
    );
  }
  const expected = summary.inputShape;
  if (
    expected &&
    (expected.length !== 3 || expected.some((side, i) => side !== null && side !== inputShape[i]))
  ) {
    throw new ConfigError(
      `pretrained model ${modelJsonUri} takes inputs of shape [${expected.join(', ')}]; the dataset's images are [${inputShape.join(', ')}]`,
      {
        hint: "resize the data to the model's input in the data preprocessing, or pick a model made for this size",
      },
    );
  }
  if (model.unfreeze) {
    const weighted = weightedLayerNames(modelJson.weightsManifest);
    const body = ancestorsOf(summary, model.cutAt).filter((l) => weighted.has(l.name));
    if (model.unfreeze.topLayers > body.length) {
      throw new ConfigError(
        `model.unfreeze.topLayers ${model.unfreeze.topLayers}: the body up to '${model.cutAt}' has ${body.length} layer(s) with weights (${body.map((l) => l.name).join(', ')})`,
        { hint: `set model.unfreeze.topLayers between 1 and ${body.length}` },
      );
    }
  }
}
