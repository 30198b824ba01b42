import { availableParallelism } from 'node:os';
import type { BackendKind, RuntimeConfig } from '../config.ts';

/** How many gradient workers to start for a backend: only wasm benefits, and `auto` leaves one core for the main thread. */
export function dataParallelWorkersFor(
  config: Pick<RuntimeConfig, 'dataParallelWorkers'>,
  backend: BackendKind,
  cores: number = availableParallelism(),
): number {
  if (backend !== 'wasm') return 0;
  if (config.dataParallelWorkers === 'auto') return Math.max(0, cores - 1);
  return config.dataParallelWorkers;
}
