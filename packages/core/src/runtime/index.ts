export {
  BACKEND_PREFERENCES,
  type BackendKind,
  type BackendPreference,
  type RuntimeConfig,
  runtimeConfigSchema,
} from './config.ts';
export { type GpuInfo, listGpus } from './gpu.ts';
export { registerWasmTrainingKernels } from './kernels/index.ts';
export { DataParallelTrainer } from './parallel/data-parallel-trainer.ts';
export { lossAndGradients, trainableVariables } from './parallel/gradients.ts';
export { dataParallelWorkersFor } from './parallel/workers-for.ts';
export { type MachineProbes, realMachineProbes } from './probes.ts';
export { type BackendAttempt, type SelectedBackend, selectBackend } from './select-backend.ts';
