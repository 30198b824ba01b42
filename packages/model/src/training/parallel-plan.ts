import type * as tfl from '@tensorflow/tfjs-layers';
import {
  type BackendKind,
  type DataParallelPlan,
  planDataParallel,
  type RuntimeConfig,
} from '@tfmlops/runtime';

/**
 * How many data-parallel workers to start, and why (for the log): the runtime's plan (only wasm splits batches, never
 * a batch-norm net; an explicit count for one is a ConfigError naming the layer), and no split for a fine-tuning
 * that unfreezes layers during the run, since the worker replicas keep the trainable flags they were built with.
 */
export function planWorkers(
  runtime: RuntimeConfig,
  backend: BackendKind,
  model: tfl.LayersModel,
  unfreezes: boolean,
): DataParallelPlan {
  const plan = planDataParallel(runtime, backend, model);
  if (plan.workers > 0 && unfreezes) {
    return { workers: 0, reason: 'fine-tuning unfreezes layers during the run: training in one process' };
  }
  return plan;
}
