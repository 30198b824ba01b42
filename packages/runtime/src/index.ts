export {
  BACKEND_PREFERENCES,
  type BackendKind,
  type BackendPreference,
  MAX_DATA_PARALLEL_WORKERS,
  MAX_WASM_THREADS,
  type RuntimeConfig,
  runtimeConfigSchema,
} from './config.ts';
export { formatDoctorReport, runDoctor } from './doctor.ts';
export type { BackendStatus, DoctorProblem, DoctorReport } from './doctor-types.ts';
export { type GpuInfo, type KernelSupport, kernelSupportFor, listGpus } from './gpu.ts';
export {
  type AdamOptions,
  type AdamState,
  configuredWasmThreads,
  configureWasmBackend,
  decaysByDefault,
  FusedAdam,
  registerGradientOverrides,
  registerWasmTrainingKernels,
  type WasmBackendOptions,
} from './kernels/index.ts';
export { createLoss, type LossFunction, type LossSpec, lossSpecSchema } from './loss.ts';
export { type DataParallelOptions, DataParallelTrainer } from './parallel/data-parallel-trainer.ts';
export { lossAndGradients, trainableVariables } from './parallel/gradients.ts';
export {
  batchNormalizationLayers,
  classesWorkersLack,
  type DataParallelPlan,
  type DataParallelPlanOptions,
  dataParallelWorkersFor,
  planDataParallel,
} from './parallel/plan.ts';
export type { WorkerSetup } from './parallel/worker-setup.ts';
export { type CommandResult, type MachineProbes, realMachineProbes } from './probes.ts';
export {
  type BackendAttempt,
  type BackendSelectionConfig,
  type SelectBackendDeps,
  type SelectedBackend,
  selectBackend,
} from './select-backend.ts';
export { findTfjsCoreCopies, type TfjsCoreCopy } from './tfjs-core-copies.ts';
export { createTrainStep, type GradientApplier, optimizerApplier, type TrainStep } from './train-step.ts';
