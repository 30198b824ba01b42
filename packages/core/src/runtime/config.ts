import { z } from 'zod';

export const BACKEND_PREFERENCES = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendPreference = (typeof BACKEND_PREFERENCES)[number];
export type BackendKind = Exclude<BackendPreference, 'auto'>;

/** `runtime:` section of an experiment file. */
export const runtimeConfigSchema = z
  .strictObject({
    /** `auto` tries tensorflow-gpu, tensorflow, wasm, cpu in that order and logs why it skipped each. */
    backend: z.enum(BACKEND_PREFERENCES).default('auto'),
    /**
     * wasm threads, applied only where tfjs-backend-wasm reports thread support. Its 4.22 release reports none under
     * Node (tfjs#3830), so in Node this is logged and ignored; `dataParallelWorkers` is what uses more cores there.
     */
    threads: z.number().int().positive().optional(),
    /**
     * Worker threads that each train a replica on part of every batch, for the single-threaded wasm backend:
     * `auto` uses every core but one; 0 turns it off. Native backends are multi-threaded already and ignore it.
     */
    dataParallelWorkers: z.union([z.literal('auto'), z.number().int().min(0).max(32)]).default('auto'),
  })
  .prefault({});
export type RuntimeConfig = z.output<typeof runtimeConfigSchema>;
