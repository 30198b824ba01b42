import * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError } from '@tfmlops/core';
import { definedOnly } from './defined-only.ts';
import { MODEL_LAYER_NAMES } from './layer-names.ts';
import type { HeadConfig } from './model-config.ts';
import { layerSeed } from './seeds.ts';
import type { ArchitectureOptions } from './types.ts';

export interface PretrainedOptions extends ArchitectureOptions {
  /** The loaded model (see loadPretrained). Its weights are copied: the caller still owns and disposes it. */
  base: tfl.LayersModel;
  /** Layer whose output becomes the features. Default `embedding`. */
  cutAt?: string;
  head?: Partial<HeadConfig>;
}

/** Defaults of `model.head`, for callers that build a head without a parsed config. */
export const HEAD_DEFAULTS: HeadConfig = { pooling: 'avg', units: [128], dropout: 0 };

type Symbolic = tfl.SymbolicTensor;

/**
 * Transfer learning: the base model up to `cutAt` becomes a frozen body (its weights copied into new layers, so
 * the base can be disposed), and a new head is trained on its features: pooling when the features have spatial or
 * token axes (`head_pool`), optional dropout (`head_dropout`), hidden ReLU dense layers (`head_dense<i>`, the last
 * named `embedding`; with no hidden layers `embedding` is a linear pass-through) and the classifier `logits`.
 * Body layers whose names the head needs (`embedding`, `logits` and `head_*`, as in a model this project trained)
 * are renamed `base_<name>`. Frozen batch-norm layers run in inference mode (see useInferenceModeForFrozenBatchNorm).
 */
export function createPretrained(options: PretrainedOptions): tfl.LayersModel {
  const { inputShape, numClasses, seed, base } = options;
  const cutAt = options.cutAt ?? MODEL_LAYER_NAMES.embedding;
  const head: HeadConfig = { ...HEAD_DEFAULTS, ...definedOnly(options.head ?? {}) };
  checkBaseInput(base, inputShape);
  const cut = cutModel(base, cutAt);
  const headNames = headLayerNames(head);
  const body = copyRenamed(cut, headNames);
  for (const layer of body.layers) layer.trainable = false;

  const glorot = (name: string) => tfl.initializers.glorotUniform({ seed: layerSeed(seed, name) });
  const apply = (layer: tfl.layers.Layer, x: Symbolic) => layer.apply(x) as Symbolic;
  let x = body.outputs[0]!;
  const pooling = poolingLayer(head.pooling, x.shape.length);
  if (pooling) x = apply(pooling, x);
  if (head.dropout > 0) {
    x = apply(
      tfl.layers.dropout({ name: 'head_dropout', rate: head.dropout, seed: layerSeed(seed, 'head_dropout') }),
      x,
    );
  }
  const hiddenNames = hiddenLayerNames(head.units.length);
  for (const [index, units] of head.units.entries()) {
    const name = hiddenNames[index]!;
    x = apply(tfl.layers.dense({ name, units, activation: 'relu', kernelInitializer: glorot(name) }), x);
  }
  if (head.units.length === 0) {
    x = apply(tfl.layers.activation({ name: MODEL_LAYER_NAMES.embedding, activation: 'linear' }), x);
  }
  const logits = apply(
    tfl.layers.dense({
      name: MODEL_LAYER_NAMES.logits,
      units: numClasses,
      kernelInitializer: glorot('logits'),
    }),
    x,
  );
  const model = tfl.model({ name: 'pretrained', inputs: body.inputs, outputs: logits });
  useInferenceModeForFrozenBatchNorm(model);
  return model;
}

/**
 * Makes the top `count` frozen layers trainable: the frozen layers nearest the head that have weights (pooling,
 * flatten and activation layers are not counted). Returns their names, nearest the input first. The training loop
 * calls it after `unfreeze.afterEpochs` epochs.
 *
 * Trainable flags take effect when the variable list is collected, and tfjs optimizers do not expect that list to
 * change: `tf.train.adam`, `rmsprop` and `momentum` keep their moment slots by POSITION in the list they were
 * first given, and unfreezing inserts variables before the head's, so reusing the optimizer would pair moments
 * with the wrong variables (or fail on shapes). After unfreezing, read `model.trainableWeights` again (our
 * createTrainStep does on every call) and create a NEW optimizer at `unfreeze.learningRate`; FusedAdam keys by
 * name, but a fresh one is right there too (the new phase starts its moments and bias correction from zero).
 */
export function unfreezeTop(model: tfl.LayersModel, count: number): string[] {
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`unfreezeTop needs a count >= 1, got ${count}`);
  const frozen = model.layers.filter((layer) => !layer.trainable && layer.weights.length > 0);
  const chosen = frozen.slice(-count);
  for (const layer of chosen) layer.trainable = true;
  return chosen.map((layer) => layer.name);
}

const patchedBatchNorm = new WeakSet<tfl.layers.Layer>();

/**
 * Frozen batch-norm layers normalise with their moving statistics even in training steps, as in Keras (TF 2):
 * tfjs's BatchNormalization ignores `trainable` and would keep using and updating batch statistics, drifting
 * the frozen body away from what the head was trained on. Idempotent; createPretrained applies it, and a caller
 * that rebuilds a fine-tuned model from saved files (a checkpoint) applies it again.
 */
export function useInferenceModeForFrozenBatchNorm(model: tfl.LayersModel): void {
  for (const layer of model.layers) {
    if (layer instanceof tfl.LayersModel) {
      useInferenceModeForFrozenBatchNorm(layer);
      continue;
    }
    if (layer.getClassName() !== 'BatchNormalization' || patchedBatchNorm.has(layer)) continue;
    const call = layer.call.bind(layer);
    layer.call = (inputs, kwargs) => call(inputs, layer.trainable ? kwargs : { ...kwargs, training: false });
    patchedBatchNorm.add(layer);
  }
}

/** Names createPretrained gives the head's layers for a head config (a body may not use them). */
export function headLayerNames(head: HeadConfig): Set<string> {
  return new Set([
    'head_pool',
    'head_dropout',
    ...hiddenLayerNames(head.units.length),
    MODEL_LAYER_NAMES.embedding,
    MODEL_LAYER_NAMES.logits,
  ]);
}

function hiddenLayerNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) =>
    i === count - 1 ? MODEL_LAYER_NAMES.embedding : `head_dense${i + 1}`,
  );
}

function poolingLayer(pooling: HeadConfig['pooling'], rank: number): tfl.layers.Layer | undefined {
  const name = 'head_pool';
  if (rank <= 2) return undefined;
  if (pooling === 'flatten' || rank > 4) return tfl.layers.flatten({ name });
  if (rank === 4) {
    return pooling === 'avg'
      ? tfl.layers.globalAveragePooling2d({ name })
      : tfl.layers.globalMaxPooling2d({ name });
  }
  return pooling === 'avg'
    ? tfl.layers.globalAveragePooling1d({ name })
    : tfl.layers.globalMaxPooling1d({ name });
}

function checkBaseInput(base: tfl.LayersModel, inputShape: readonly number[]): void {
  if (base.inputs.length !== 1) {
    throw new ConfigError(
      `pretrained model '${base.name}' has ${base.inputs.length} inputs; it needs one image input`,
    );
  }
  const expected = base.inputs[0]!.shape.slice(1);
  const fits =
    expected.length === inputShape.length &&
    expected.every((side, i) => side === null || side === inputShape[i]);
  if (!fits) {
    throw new ConfigError(
      `pretrained model '${base.name}' takes inputs of shape [${expected.join(', ')}]; the dataset's images are [${inputShape.join(', ')}]`,
      {
        hint: "resize the data to the model's input in the data preprocessing, or pick a model made for this size",
      },
    );
  }
}

function cutModel(base: tfl.LayersModel, cutAt: string): tfl.LayersModel {
  const layer = base.layers.find((candidate) => candidate.name === cutAt);
  if (!layer || layer.getClassName() === 'InputLayer') {
    const names = base.layers.filter((l) => l.getClassName() !== 'InputLayer').map((l) => l.name);
    throw new ConfigError(
      layer
        ? `model.cutAt '${cutAt}' is the input layer of '${base.name}': nothing would be transferred`
        : `model.cutAt: '${base.name}' has no layer '${cutAt}'`,
      { hint: `cut at one of its layers: ${names.join(', ')}` },
    );
  }
  let output: Symbolic | Symbolic[];
  try {
    output = layer.output;
  } catch (error) {
    throw new ConfigError(
      `model.cutAt '${cutAt}' is used more than once in '${base.name}'; its output is ambiguous`,
      {
        hint: 'cut at a layer that is applied once',
        cause: error,
      },
    );
  }
  if (Array.isArray(output)) {
    throw new ConfigError(
      `model.cutAt '${cutAt}' has ${output.length} outputs; cut at a layer with one output`,
    );
  }
  return tfl.model({ inputs: base.inputs, outputs: output });
}

interface FunctionalConfig {
  name: string;
  layers: Array<{ name: string; className: string; config: { name: string }; inboundNodes: unknown[][][] }>;
  inputLayers: Array<[string, number, number]>;
  outputLayers: Array<[string, number, number]>;
}

/**
 * A copy of a functional model with its own variables (weights copied), layers named in `reserved` renamed to
 * `base_<name>`. Renaming needs new layers: a weight's name (`<layer>/kernel`) is fixed when it is created, and a
 * model with two weights of one name saves but does not load again.
 */
function copyRenamed(model: tfl.LayersModel, reserved: Set<string>): tfl.LayersModel {
  const config = JSON.parse(JSON.stringify(model.getConfig())) as FunctionalConfig;
  const taken = new Set(config.layers.map((layer) => layer.name));
  const renames = new Map<string, string>();
  for (const layer of config.layers) {
    if (!reserved.has(layer.name)) continue;
    let renamed = `base_${layer.name}`;
    while (taken.has(renamed) || reserved.has(renamed)) renamed = `base_${renamed}`;
    taken.add(renamed);
    renames.set(layer.name, renamed);
  }
  const rename = (name: string) => renames.get(name) ?? name;
  for (const layer of config.layers) {
    layer.name = rename(layer.name);
    layer.config.name = layer.name;
    for (const node of layer.inboundNodes) {
      for (const entry of node) entry[0] = rename(entry[0] as string);
    }
  }
  for (const entry of [...config.inputLayers, ...config.outputLayers]) entry[0] = rename(entry[0]);
  config.name = `${config.name}_body`;
  // fastWeightInit: skip the random initialisation, the weights are overwritten next.
  const copy = tfl.LayersModel.fromConfig(
    tfl.LayersModel,
    config as unknown as Parameters<typeof tfl.LayersModel.fromConfig>[1],
    undefined,
    true,
  ) as tfl.LayersModel;
  copy.setWeights(model.getWeights());
  return copy;
}
