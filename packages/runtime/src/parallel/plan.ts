import { availableParallelism } from 'node:os';
import type * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError } from '@tfmlops/core';
import type { BackendKind, RuntimeConfig } from '../config.ts';
import { TFJS_SERIALIZABLE_CLASSES } from './tfjs-classes.ts';
import { describeClass, type SerializedClass, serializedClasses, type WorkerSetup } from './worker-setup.ts';

/** How many gradient workers a run starts, and why, for the log. */
export interface DataParallelPlan {
  workers: number;
  reason: string;
}

export interface DataParallelPlanOptions {
  /** Cores to plan for (default: what the OS says this process may use). */
  cores?: number;
  /** The setup the trainer will be given (DataParallelOptions.setup): the custom classes the workers will know. */
  setup?: readonly WorkerSetup[];
}

/**
 * Decides `runtime.dataParallelWorkers` for a model on a backend.
 *
 * Batch norm: a network with a BatchNormalization layer is never split. Each part of a split batch would be normalised
 * with its own statistics (a smaller, noisier batch than the one configured) and the moving averages would come from
 * the main thread's part only, so the step would no longer be single-device training on the batch. Synchronising the
 * statistics instead would need a custom batch-norm layer with a custom gradient and two rounds of messages between
 * threads per batch-norm layer in each of the forward and backward passes; a ResNet has dozens, and those round
 * trips would eat the gain on the 2-4 cores this path exists for. Batch-norm nets use `runtime.threads` instead, which
 * splits each kernel rather than the batch and is exact.
 *
 * So `auto` picks 0 workers for them (and says why), and an explicit count > 0 is a ConfigError naming the layer,
 * on any backend, so that a config means the same on every machine. Otherwise only wasm uses workers (native
 * backends are multi-threaded already) and `auto` uses every core but one, unless `runtime.threads` > 1 already
 * claims the cores.
 *
 * Rebuilding: each worker rebuilds the model from its JSON, so every class the JSON names must be one tfjs defines
 * or one that `options.setup` registers there (the classes its entries declare). A model with any other class (a
 * custom layer without a worker setup) gets 0 workers under `auto`, with the layer named in the reason, and an
 * explicit count on wasm is a ConfigError naming it.
 */
export function planDataParallel(
  config: Pick<RuntimeConfig, 'dataParallelWorkers' | 'threads'>,
  backend: BackendKind,
  model: tfl.LayersModel,
  options: DataParallelPlanOptions = {},
): DataParallelPlan {
  const { cores = availableParallelism(), setup = [] } = options;
  const requested = config.dataParallelWorkers;
  const batchNorm = batchNormalizationLayers(model);
  if (requested !== 'auto' && requested > 0 && batchNorm.length > 0)
    throw batchNormError(batchNorm, requested);
  if (backend !== 'wasm') {
    return {
      workers: 0,
      reason: `the ${backend} backend is multi-threaded itself; data-parallel workers are for wasm`,
    };
  }
  const unknown = requested === 0 ? [] : classesWorkersLack(model, setup);
  if (requested !== 'auto') {
    if (unknown.length > 0) throw cannotRebuildError(unknown, requested);
    return { workers: requested, reason: `runtime.dataParallelWorkers=${requested}` };
  }
  if (batchNorm.length > 0) {
    return {
      workers: 0,
      reason: `layer '${batchNorm[0]}' is BatchNormalization: splitting a batch would normalise each part with its own statistics (set runtime.threads to use more cores)`,
    };
  }
  if (unknown.length > 0) {
    return {
      workers: 0,
      reason: `${describeClass(unknown[0]!)}, a class the worker threads could not rebuild the model with (not tfjs's own, and no worker setup registers it)`,
    };
  }
  if ((config.threads ?? 1) > 1) {
    return { workers: 0, reason: `runtime.threads=${config.threads} already uses the cores` };
  }
  const workers = Math.max(0, cores - 1);
  return {
    workers,
    reason:
      workers > 0 ? `auto: ${cores} cores, one for the main thread` : 'auto: one core, nothing to split over',
  };
}

/** The error for splitting a batch-norm net; DataParallelTrainer.create raises it too. */
export function batchNormError(layers: string[], workers: number | string): ConfigError {
  return new ConfigError(
    `runtime.dataParallelWorkers=${workers} would split every batch, but layer '${layers[0]}'${layers.length > 1 ? ` (and ${layers.length - 1} more)` : ''} is BatchNormalization, which would then normalise each part with its own statistics: not the same training step`,
    {
      hint: 'set runtime.dataParallelWorkers to auto or 0 for this model; runtime.threads (1-8) uses more cores on wasm without splitting the batch',
    },
  );
}

/** The classes the model's JSON names that neither tfjs nor the worker setup registers in a worker. */
export function classesWorkersLack(model: tfl.LayersModel, setup: readonly WorkerSetup[]): SerializedClass[] {
  const declared = new Set(setup.flatMap((s) => s.layerClasses));
  return serializedClasses(model.toJSON(null, false)).filter(
    (c) => !TFJS_SERIALIZABLE_CLASSES.has(c.className) && !declared.has(c.className),
  );
}

function cannotRebuildError(unknown: SerializedClass[], workers: number): ConfigError {
  return new ConfigError(
    `runtime.dataParallelWorkers=${workers} would train on worker threads, but they could not rebuild this model: ${describeClass(unknown[0]!)}${unknown.length > 1 ? ` (and ${unknown.length - 1} more class(es))` : ''}, a class that is not tfjs's own and that no worker setup registers`,
    {
      hint: 'set runtime.dataParallelWorkers to auto or 0 for this model; code that trains custom layers on workers passes a WorkerSetup registering them to planDataParallel and DataParallelTrainer.create',
    },
  );
}

/** Names of the BatchNormalization layers in a model, nested models and wrapper layers included. */
export function batchNormalizationLayers(model: tfl.LayersModel): string[] {
  const found: string[] = [];
  const visit = (layer: tfl.layers.Layer) => {
    if (layer.getClassName() === 'BatchNormalization') found.push(layer.name);
    const nested = layer as unknown as { layers?: tfl.layers.Layer[]; layer?: tfl.layers.Layer };
    for (const inner of nested.layers ?? []) visit(inner);
    if (nested.layer) visit(nested.layer);
  };
  for (const layer of model.layers) visit(layer);
  return found;
}

/**
 * The most gradient workers a run with this config starts on a backend, before a model is known (sizing sweep
 * trials, say): `planDataParallel` gives the same count, or 0 for a network with batch norm or one the workers
 * could not rebuild.
 */
export function dataParallelWorkersFor(
  config: Pick<RuntimeConfig, 'dataParallelWorkers' | 'threads'>,
  backend: BackendKind,
  cores: number = availableParallelism(),
): number {
  if (backend !== 'wasm') return 0;
  if (config.dataParallelWorkers !== 'auto') return config.dataParallelWorkers;
  return (config.threads ?? 1) > 1 ? 0 : Math.max(0, cores - 1);
}
