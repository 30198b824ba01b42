import type * as tfl from '@tensorflow/tfjs-layers';
import { type BackendKind, dataParallelWorkersFor, type RuntimeConfig } from '@tfmlops/runtime';
import type { LossSpec } from './loss.ts';

/**
 * How many data-parallel workers to start, and why (for the log).
 *
 * Seam: @tfmlops/runtime is gaining `planDataParallel(runtime, backend, model)` (which also refuses to split
 * batch-norm nets) and a trainer that takes the loss spec; until then today's worker count applies, except that a
 * loss the workers cannot compute yet (label smoothing) keeps training in one process, so both paths always
 * optimise the same loss.
 */
export function planWorkers(
  runtime: RuntimeConfig,
  backend: BackendKind,
  model: tfl.LayersModel,
  loss: LossSpec,
  unfreezes: boolean,
): { workers: number; reason: string } {
  const workers = dataParallelWorkersFor(runtime, backend);
  // Each part of a split batch would be normalised with its own statistics: not the configured training step.
  const batchNorm = model.layers.find((layer) => layer.getClassName() === 'BatchNormalization');
  if (workers > 0 && batchNorm) {
    return { workers: 0, reason: `layer '${batchNorm.name}' is BatchNormalization: batches are not split` };
  }
  // Worker replicas take the trainable flags of the model they were built from; an unfreeze changes them mid-run.
  if (workers > 0 && unfreezes) {
    return { workers: 0, reason: 'fine-tuning unfreezes layers during the run: training in one process' };
  }
  if (workers > 0 && (loss.labelSmoothing ?? 0) > 0) {
    return {
      workers: 0,
      reason: 'label smoothing is computed in one process until the workers take the loss spec',
    };
  }
  return {
    workers,
    reason: workers > 0 ? `runtime.dataParallelWorkers=${runtime.dataParallelWorkers}` : 'off',
  };
}
