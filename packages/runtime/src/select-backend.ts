import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { BackendError, type Logger } from '@tfmlops/core';
import type { BackendKind, RuntimeConfig } from './config.ts';
import {
  CUDA_LIBRARIES,
  driverAtLeast,
  findCudaLibraries,
  kernelSupportFor,
  listGpus,
  MIN_DRIVER_VERSION,
} from './gpu.ts';
import { registerWasmTrainingKernels } from './kernels/index.ts';
import { configureWasmBackend } from './kernels/wasm-threads.ts';
import { loadNativePackage, NATIVE_PACKAGE, type NativeBackend } from './native.ts';
import type { MachineProbes } from './probes.ts';

export interface BackendAttempt {
  backend: BackendKind;
  reason: string;
  hint?: string;
  cause?: unknown;
}

export interface SelectedBackend {
  backend: BackendKind;
  /** The name tfjs-core knows it by ('tensorflow' for both native builds). */
  tfBackendName: string;
  /** What was checked to choose it. */
  reason: string;
  /** Backends tried before this one, and why each was not used. */
  skipped: BackendAttempt[];
}

/** The part of the `runtime:` section backend selection reads. */
export type BackendSelectionConfig = Pick<RuntimeConfig, 'backend' | 'threads'>;

export interface SelectBackendDeps {
  /** Machine access (module lookup, nvidia-smi, ldconfig, env); tests replace parts of it. */
  probes: MachineProbes;
  logger?: Logger;
}

/** The order `auto` tries backends in: fastest first. */
export const AUTO_ORDER: readonly BackendKind[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/** Which native package provides the 'tensorflow' backend in this process, if one does (both use that name). */
let loadedNative: NativeBackend | undefined;
export function loadedNativeBackend(): NativeBackend | undefined {
  return loadedNative && tf.findBackendFactory('tensorflow') ? loadedNative : undefined;
}

type Outcome = { ok: true; reason: string } | { ok: false; attempt: BackendAttempt };

/**
 * Chooses and initialises the TensorFlow.js backend. `auto` takes the first that works of tensorflow-gpu (a CUDA
 * GPU is visible, the CUDA 11 / cuDNN 8 libraries are found and tfjs-node-gpu loads), tensorflow (tfjs-node loads),
 * wasm (with this project's training kernels) and cpu, and logs why it skipped the others. An explicitly requested
 * backend that cannot start is a BackendError with the reason and a fix, never a silent fallback.
 */
export async function selectBackend(
  config: BackendSelectionConfig,
  { probes, logger }: SelectBackendDeps,
): Promise<SelectedBackend> {
  const candidates = config.backend === 'auto' ? AUTO_ORDER : [config.backend];
  const skipped: BackendAttempt[] = [];
  for (const backend of candidates) {
    const outcome = await tryBackend(backend, config, probes);
    if (outcome.ok) {
      for (const attempt of skipped)
        logger?.info({ backend: attempt.backend, reason: attempt.reason }, 'backend skipped');
      const tfBackendName = tf.getBackend();
      logger?.info({ backend, tfBackend: tfBackendName, reason: outcome.reason }, 'backend selected');
      return { backend, tfBackendName, reason: outcome.reason, skipped };
    }
    skipped.push(outcome.attempt);
  }
  const last = skipped[skipped.length - 1]!;
  throw new BackendError(
    'BACKEND_UNAVAILABLE',
    `backend '${config.backend}' is not available: ${last.reason}`,
    {
      hint:
        last.hint ??
        'use runtime.backend=auto to take the best available backend; `pnpm run doctor` explains what is missing',
      cause: last.cause,
    },
  );
}

async function tryBackend(
  backend: BackendKind,
  config: BackendSelectionConfig,
  probes: MachineProbes,
): Promise<Outcome> {
  const fail = (reason: string, hint?: string, cause?: unknown): Outcome => ({
    ok: false,
    attempt: { backend, reason, hint, cause },
  });
  if (backend === 'tensorflow-gpu') {
    const blocker = await gpuBlocker(probes);
    if (blocker) return fail(blocker.reason, blocker.hint);
  }
  if (backend === 'tensorflow-gpu' || backend === 'tensorflow') {
    const owner = loadedNativeBackend();
    if (owner && owner !== backend) {
      return fail(
        `this process already loaded ${NATIVE_PACKAGE[owner]}, which owns the 'tensorflow' backend name; one process hosts one native build`,
        'start a new process to use the other native build',
      );
    }
    if (!owner) {
      const failure = await loadNativePackage(backend, probes);
      if (failure) return fail(failure.reason, failure.hint, failure.cause);
      loadedNative = backend;
    }
    if (!(await activate('tensorflow'))) {
      return fail(`${NATIVE_PACKAGE[backend]} loaded but the 'tensorflow' backend did not initialise`);
    }
    return {
      ok: true,
      reason:
        backend === 'tensorflow-gpu'
          ? `${NATIVE_PACKAGE[backend]} loaded; CUDA GPU visible and CUDA 11 / cuDNN 8 libraries found`
          : `${NATIVE_PACKAGE[backend]} loaded (native TensorFlow on the CPU)`,
    };
  }
  if (backend === 'wasm') {
    registerWasmTrainingKernels();
    const [simd, threads] = await wasmFeatures();
    let threadCount = 1;
    if (config.threads !== undefined && config.threads > 1) {
      if (threads) setThreadsCount(config.threads);
      // tfjs-backend-wasm 4.22 reports no thread support under Node (tfjs#3830); configureWasmBackend loads its
      // threaded SIMD build itself.
      else threadCount = await configureWasmBackend({ threads: config.threads });
    }
    if (!(await activate('wasm'))) {
      return fail(
        'the WebAssembly backend failed to initialise',
        'check that Node.js >= 20 runs WebAssembly here and that @tensorflow/tfjs-backend-wasm/dist holds its .wasm files',
      );
    }
    return {
      ok: true,
      reason: `WebAssembly (SIMD ${simd ? 'on' : 'off'}, ${threads || threadCount > 1 ? `${config.threads} threads` : 'single-threaded'}) with the training kernels registered`,
    };
  }
  if (!(await activate('cpu'))) return fail('the cpu backend failed to initialise');
  return { ok: true, reason: 'pure JavaScript reference backend (slow for training)' };
}

/** Why the GPU build must not be loaded here, or undefined when nothing stands in its way. */
async function gpuBlocker(probes: MachineProbes): Promise<{ reason: string; hint: string } | undefined> {
  const gpus = await listGpus(probes);
  if (gpus.length === 0) {
    return {
      reason:
        'no CUDA GPU visible (nvidia-smi is missing or lists no GPU), so @tensorflow/tfjs-node-gpu is not loaded',
      hint: 'install the NVIDIA driver and check `nvidia-smi`; on a machine without a GPU use runtime.backend=auto',
    };
  }
  const oldDriver = gpus.find((gpu) => !driverAtLeast(gpu.driverVersion));
  if (oldDriver) {
    return {
      reason: `NVIDIA driver ${oldDriver.driverVersion} is older than ${MIN_DRIVER_VERSION}, the minimum for CUDA 11`,
      hint: `upgrade the NVIDIA driver to ${MIN_DRIVER_VERSION} or newer`,
    };
  }
  if (gpus.every((gpu) => kernelSupportFor(gpu.computeCapability) === 'unsupported')) {
    return {
      reason: `${gpus[0]!.name} (compute capability ${gpus[0]!.computeCapability}) is older than libtensorflow 2.9.1 supports (3.5)`,
      hint: 'use runtime.backend=tensorflow or wasm on this machine',
    };
  }
  const libraries = await findCudaLibraries(probes);
  const missing = CUDA_LIBRARIES.filter((library) => !libraries[library]);
  if (missing.length > 0) {
    return {
      reason: `${missing.join(', ')} not found (libtensorflow 2.9.1 needs CUDA 11.2 and cuDNN 8.1, and without them it silently computes on the CPU)`,
      hint: 'install the CUDA 11.x runtime libraries and cuDNN 8 and put their directory on LD_LIBRARY_PATH; `pnpm run doctor` lists each',
    };
  }
  return undefined;
}

/** Whether tfjs-backend-wasm can use SIMD and threads in this runtime. */
export async function wasmFeatures(): Promise<[simd: boolean, threads: boolean]> {
  return [
    Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
    Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')),
  ];
}

async function activate(name: string): Promise<boolean> {
  try {
    return (await tf.setBackend(name)) && tf.getBackend() === name;
  } catch {
    return false;
  }
}
