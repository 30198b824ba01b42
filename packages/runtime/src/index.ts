export {
  BACKEND_PREFERENCES,
  type BackendKind,
  type BackendPreference,
  type RuntimeConfig,
  runtimeConfigSchema,
} from './config.ts';
export { formatDoctorReport, runDoctor } from './doctor.ts';
export type { BackendStatus, DoctorProblem, DoctorReport } from './doctor-types.ts';
export { type GpuInfo, type KernelSupport, kernelSupportFor, listGpus } from './gpu.ts';
export {
  type AdamOptions,
  configuredWasmThreads,
  configureWasmBackend,
  FusedAdam,
  registerWasmTrainingKernels,
  type WasmBackendOptions,
} from './kernels/index.ts';
export { DataParallelTrainer } from './parallel/data-parallel-trainer.ts';
export { lossAndGradients, trainableVariables } from './parallel/gradients.ts';
export { dataParallelWorkersFor } from './parallel/workers-for.ts';
export { type CommandResult, type MachineProbes, realMachineProbes } from './probes.ts';
export {
  type BackendAttempt,
  type BackendSelectionConfig,
  type SelectBackendDeps,
  type SelectedBackend,
  selectBackend,
} from './select-backend.ts';
export { findTfjsCoreCopies, type TfjsCoreCopy } from './tfjs-core-copies.ts';
export {
  createTrainStep,
  type GradientApplier,
  type LossFunction,
  optimizerApplier,
  type TrainStep,
} from './train-step.ts';
