import { z } from 'zod';

export const BACKEND_PREFERENCES = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendPreference = (typeof BACKEND_PREFERENCES)[number];
export type BackendKind = Exclude<BackendPreference, 'auto'>;

/** `runtime:` section of an experiment file. */
export const runtimeConfigSchema = z
  .strictObject({
    /** `auto` tries tensorflow-gpu, tensorflow, wasm, cpu in that order and logs why it skipped each. */
    backend: z.enum(BACKEND_PREFERENCES).default('auto'),
    /** wasm threads; only used where the wasm backend reports thread support. */
    threads: z.number().int().positive().optional(),
  })
  .prefault({});
export type RuntimeConfig = z.output<typeof runtimeConfigSchema>;
