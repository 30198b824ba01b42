import { z } from 'zod';

export const BACKEND_PREFERENCES = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendPreference = (typeof BACKEND_PREFERENCES)[number];
export type BackendKind = Exclude<BackendPreference, 'auto'>;

/** tfjs-backend-wasm's threaded build has a pool of at most 8 threads. */
export const MAX_WASM_THREADS = 8;
/** More gradient workers than this is a typo, not a machine: each holds a replica of the model. */
export const MAX_DATA_PARALLEL_WORKERS = 32;

/** `runtime:` section of an experiment file. */
export const runtimeConfigSchema = z
  .strictObject({
    /** `auto` tries tensorflow-gpu, tensorflow, wasm, cpu in that order and logs why it skipped each. */
    backend: z.enum(BACKEND_PREFERENCES).default('auto'),
    /**
     * Threads for the wasm backend's XNNPACK kernels (1-8). Stock tfjs-backend-wasm 4.22 runs single-threaded in
     * Node (tfjs#3830); setting this loads its threaded SIMD build through `configureWasmBackend`. When set above 1,
     * `dataParallelWorkers: auto` stays off, since both would compete for the same cores.
     */
    threads: z.number().int().min(1).max(MAX_WASM_THREADS).optional(),
    /**
     * Worker threads that each train a replica on part of every batch, for the single-threaded wasm backend:
     * `auto` uses every core but one; 0 turns it off. Native backends are multi-threaded already and ignore it.
     * A network with batch norm is never split: `auto` picks 0 for it and a count > 0 is a config error (see
     * `planDataParallel`).
     */
    dataParallelWorkers: z
      .union([z.literal('auto'), z.number().int().min(0).max(MAX_DATA_PARALLEL_WORKERS)])
      .default('auto'),
  })
  .prefault({});
export type RuntimeConfig = z.output<typeof runtimeConfigSchema>;
