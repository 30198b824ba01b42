import type { LossSpec } from '../loss.ts';

/** Messages between the trainer (main thread) and a gradient worker. Arrays travel as transferable buffers. */
export interface PackedTensor {
  data: Float32Array;
  shape: number[];
}

export type ToWorker =
  /** `setupModules`: file URLs (href) of WorkerSetup modules, run in order before the model is rebuilt. */
  | { type: 'init'; topology: object; loss: LossSpec; setupModules: string[] }
  | { type: 'step'; weights: Float32Array[]; xs: PackedTensor; ys: PackedTensor };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'grads'; loss: number; grads: Float32Array[] }
  /** Classes the topology names that the worker's registry lacks after its setup modules ran. */
  | { type: 'unknown-classes'; classes: Array<{ className: string; layer?: string }> }
  | { type: 'error'; message: string };
