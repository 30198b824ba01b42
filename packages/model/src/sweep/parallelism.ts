import { type BackendPreference, dataParallelWorkersFor } from '@tfmlops/runtime';

export interface TrialRuntime {
  backend: BackendPreference;
  threads?: number | undefined;
  dataParallelWorkers: 'auto' | number;
}

/**
 * Cores one trial keeps busy: a native TensorFlow backend uses them all; on wasm, its kernel threads or its main
 * thread plus data-parallel workers (`auto` is every core but one), whichever is more.
 */
export function coresPerTrial(runtime: TrialRuntime, cores: number): number {
  if (runtime.backend === 'tensorflow' || runtime.backend === 'tensorflow-gpu') return cores;
  const workers = dataParallelWorkersFor(runtime, 'wasm', cores);
  return Math.min(cores, Math.max(runtime.threads ?? 1, 1 + workers));
}

/** `--parallel` by default: as many trials as fit on the cores without two trials sharing one. */
export function defaultParallel(runtime: TrialRuntime, cores: number): number {
  return Math.max(1, Math.floor(cores / coresPerTrial(runtime, cores)));
}
