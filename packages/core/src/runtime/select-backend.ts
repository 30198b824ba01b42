import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { BackendKind, RuntimeConfig } from './config.ts';
import { listGpus } from './gpu.ts';
import { registerWasmTrainingKernels } from './kernels/index.ts';
import type { MachineProbes } from './probes.ts';

export interface BackendAttempt {
  backend: BackendKind;
  reason: string;
  hint?: string;
}

export interface SelectedBackend {
  backend: BackendKind;
  /** The name tfjs-core knows it by ('tensorflow' for both native builds). */
  tfBackendName: string;
  /** Backends tried before this one, and why each was not used. */
  skipped: BackendAttempt[];
}

const AUTO_ORDER: BackendKind[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

const NATIVE_PACKAGE: Record<'tensorflow-gpu' | 'tensorflow', string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

/**
 * Chooses and initialises the TensorFlow.js backend. `auto` takes the first that works of tensorflow-gpu (the
 * module loads and a CUDA GPU is visible), tensorflow, wasm and cpu, and logs why it skipped the others. An
 * explicitly requested backend that cannot start is a BackendError, never a silent fallback.
 */
export async function selectBackend(
  config: Pick<RuntimeConfig, 'backend' | 'threads'>,
  { probes, logger }: { probes: MachineProbes; logger?: Logger },
): Promise<SelectedBackend> {
  const candidates = config.backend === 'auto' ? AUTO_ORDER : [config.backend];
  const skipped: BackendAttempt[] = [];
  for (const backend of candidates) {
    const failure = await tryBackend(backend, config, probes);
    if (!failure) {
      for (const attempt of skipped)
        logger?.info({ backend: attempt.backend, reason: attempt.reason }, 'backend skipped');
      logger?.info({ backend, tfBackend: tf.getBackend() }, 'backend selected');
      return { backend, tfBackendName: tf.getBackend(), skipped };
    }
    skipped.push(failure);
  }
  const last = skipped[skipped.length - 1]!;
  throw new BackendError(
    'BACKEND_UNAVAILABLE',
    `backend '${config.backend}' is not available: ${last.reason}`,
    {
      hint:
        last.hint ??
        'use runtime.backend=auto to fall back to the best available backend; `pnpm doctor` explains what is missing',
    },
  );
}

/** Starts one backend; returns why it could not, or undefined on success. */
async function tryBackend(
  backend: BackendKind,
  config: Pick<RuntimeConfig, 'threads'>,
  probes: MachineProbes,
): Promise<BackendAttempt | undefined> {
  if (backend === 'tensorflow-gpu' || backend === 'tensorflow') {
    if (backend === 'tensorflow-gpu' && (await listGpus(probes)).length === 0) {
      return {
        backend,
        reason: 'no CUDA GPU visible (nvidia-smi is missing or lists no GPU)',
        hint: 'install the NVIDIA driver and check `nvidia-smi`; on a machine without a GPU use runtime.backend=auto',
      };
    }
    const loaded = await loadNative(backend, probes);
    if (loaded) return loaded;
    return (await activate('tensorflow'))
      ? undefined
      : { backend, reason: 'module loaded but did not register the tensorflow backend' };
  }
  if (backend === 'wasm') {
    registerWasmTrainingKernels();
    if (config.threads) setThreadsCount(config.threads);
    return (await activate('wasm'))
      ? undefined
      : {
          backend,
          reason: 'the WebAssembly backend failed to initialise',
          hint: 'check that Node.js >= 20 runs WebAssembly here',
        };
  }
  return (await activate('cpu')) ? undefined : { backend, reason: 'the cpu backend failed to initialise' };
}

async function loadNative(
  backend: 'tensorflow-gpu' | 'tensorflow',
  probes: MachineProbes,
): Promise<BackendAttempt | undefined> {
  const pkg = NATIVE_PACKAGE[backend];
  try {
    await probes.loadModule(pkg);
    return undefined;
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && message.includes(pkg)) {
      return {
        backend,
        reason: `${pkg} is not installed`,
        hint: `pnpm add ${pkg} in packages/core where it is wanted`,
      };
    }
    if (/tfjs_binding|libtensorflow/.test(message)) {
      return {
        backend,
        reason: `${pkg} is installed but its libtensorflow binary is missing (its install script could not download it)`,
        hint: `where the Google download CDN is reachable run \`pnpm rebuild ${pkg}\` (or set TFJS_NODE_CDN_STORAGE to a mirror)`,
      };
    }
    return { backend, reason: `${pkg} failed to load: ${message.split('\n')[0]}` };
  }
}

async function activate(name: string): Promise<boolean> {
  try {
    return (await tf.setBackend(name)) && tf.getBackend() === name;
  } catch {
    return false;
  }
}
