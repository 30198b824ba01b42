import type { WorkerSetup } from '@tfmlops/runtime';
import { CUSTOM_LAYERS, registerCustomLayers } from './custom-layers.ts';

/**
 * Run by each data-parallel gradient worker before it rebuilds the model from its JSON: this package's custom
 * layers (the ViT's) must be registered there too, or the worker cannot deserialize them ("Unknown layer").
 */
export function setupWorker(): void {
  registerCustomLayers();
}

/** This module as a WorkerSetup, for `planDataParallel(..., { setup })` and `DataParallelTrainer.create`. */
export const MODEL_WORKER_SETUP: WorkerSetup = {
  module: new URL(import.meta.url),
  layerClasses: CUSTOM_LAYERS.map((layer) => layer.className),
};
