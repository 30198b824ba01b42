import { availableParallelism } from 'node:os';
import type { BackendKind, RuntimeConfig } from '../config.ts';

/** How many gradient workers to start for a backend: only wasm benefits, and `auto` leaves one core for the main thread. */
export function dataParallelWorkersFor(
  config: Pick<RuntimeConfig, 'dataParallelWorkers' | 'threads'>,
  backend: BackendKind,
  cores: number = availableParallelism(),
): number {
  if (backend !== 'wasm') return 0;
  // wasm threads and worker replicas compete for the same cores: `auto` uses workers only when threads are not asked for.
  if (config.dataParallelWorkers === 'auto') return (config.threads ?? 1) > 1 ? 0 : Math.max(0, cores - 1);
  return config.dataParallelWorkers;
}
