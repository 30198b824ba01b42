import type { LossSpec } from '../loss.ts';

/** Messages between the trainer (main thread) and a gradient worker. Arrays travel as transferable buffers. */
export interface PackedTensor {
  data: Float32Array;
  shape: number[];
}

export type ToWorker =
  | { type: 'init'; topology: object; loss: LossSpec }
  | { type: 'step'; weights: Float32Array[]; xs: PackedTensor; ys: PackedTensor };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'grads'; loss: number; grads: Float32Array[] }
  | { type: 'error'; message: string };
