// The doctor's report shapes, shared by doctor.ts (which probes) and diagnose.ts (which turns findings into fixes).
import type { BackendKind } from './config.ts';
import type { GpuInfo, KernelSupport } from './gpu.ts';
import type { TfjsCoreCopy } from './tfjs-core-copies.ts';

export interface BackendStatus {
  backend: BackendKind;
  usable: boolean;
  /** Why it is (not) usable; for a backend that was not tried, why not. */
  detail: string;
  /** How to make it usable, when it is not. */
  hint?: string;
}

export interface DoctorProblem {
  problem: string;
  fix: string;
}

export interface DoctorReport {
  node: string;
  platform: string;
  backends: BackendStatus[];
  /** What `runtime.backend: auto` picks here. */
  autoSelects: BackendKind | undefined;
  /** WebAssembly features: SIMD, threads, and relaxed SIMD (the fused multiply-add our GEMM uses). */
  wasm: { simd: boolean; threads: boolean; relaxedSimd: boolean };
  /** Copies of tfjs-core the TF.js packages load; anything but one is a problem. */
  tfjsCore: TfjsCoreCopy[];
  /** nvidia-smi's GPUs, with how libtensorflow 2.9.1 runs on each (prebuilt SASS or PTX compiled at start). */
  gpus: Array<GpuInfo & { kernels: KernelSupport }>;
  /** CUDA 11 / cuDNN 8 library -> where it was found; only looked for when a GPU is visible. */
  cudaLibraries: Record<string, string | undefined>;
  /** The driver's JIT cache settings, which decide whether PTX compilation happens once or on every start. */
  cudaCache: { path: string | undefined; maxSize: string | undefined; disabled: boolean };
  problems: DoctorProblem[];
  /** True when a backend that trains at a useful speed (anything but the pure-JS cpu backend) works. */
  healthy: boolean;
}
