import type { BackendKind } from './config.ts';
import type { BackendStatus, DoctorProblem, DoctorReport } from './doctor-types.ts';
import {
  CUDA_RUNTIME_LIBRARIES,
  CUDNN_LIBRARY,
  driverAtLeast,
  LIBTENSORFLOW_PTX,
  LIBTENSORFLOW_SASS,
  MIN_DRIVER_VERSION,
} from './gpu.ts';

/** What the doctor measured, before it is judged. */
export type DoctorFacts = Pick<
  DoctorReport,
  'backends' | 'wasm' | 'tfjsCore' | 'gpus' | 'cudaLibraries' | 'cudaCache'
>;

/**
 * The CUDA driver's JIT cache tops out at 4 GiB. Its default (256 MiB or 1 GiB, by driver) may not hold all of
 * TensorFlow's compiled kernels, and whatever is evicted is compiled again on the next start.
 */
const CUDA_CACHE_MAX = 4 * 1024 ** 3;

/** Turns the doctor's facts into problems, each with a fix a person can carry out. */
export function diagnose(facts: DoctorFacts): DoctorProblem[] {
  const problems: DoctorProblem[] = [];
  const status = (name: BackendKind): BackendStatus | undefined =>
    facts.backends.find((b) => b.backend === name);

  if (facts.tfjsCore.length > 1) {
    problems.push({
      problem: `${facts.tfjsCore.length} copies of @tensorflow/tfjs-core are installed (${facts.tfjsCore.map((c) => `${c.version} for ${c.loadedBy.join(', ')}`).join('; ')}): backends and kernels registered in one are invisible to the other`,
      fix: 'give every @tensorflow/* package the same version in the pnpm catalog and run `pnpm install`; `pnpm why @tensorflow/tfjs-core` shows who pulls the odd one',
    });
  }

  if (facts.gpus.length > 0) problems.push(...gpuProblems(facts));

  const gpu = status('tensorflow-gpu');
  const native = status('tensorflow');
  if (facts.gpus.length > 0 && gpu && !gpu.usable) {
    problems.push({
      problem: `a GPU is visible but tensorflow-gpu does not start: ${gpu.detail}`,
      fix: gpu.hint ?? 'fix the items above, then `pnpm rebuild @tensorflow/tfjs-node-gpu`',
    });
  }
  if (!gpu?.usable && native && !native.usable) {
    problems.push({
      problem: `native TensorFlow is unavailable (${native.detail}); training runs on ${status('wasm')?.usable ? 'wasm' : 'cpu'}`,
      fix:
        native.hint ??
        'where storage.googleapis.com is reachable, `pnpm rebuild @tensorflow/tfjs-node` installs libtensorflow',
    });
  }
  const wasm = status('wasm');
  if (wasm?.usable && !facts.wasm.simd) {
    problems.push({
      problem: 'WebAssembly SIMD is not supported: the wasm kernels run several times slower',
      fix: 'use Node.js >= 20',
    });
  }
  if (wasm && !wasm.usable) {
    problems.push({
      problem: `the wasm backend does not start: ${wasm.detail}`,
      fix: wasm.hint ?? 'reinstall with `pnpm install --force`',
    });
  }
  return problems;
}

function gpuProblems(facts: DoctorFacts): DoctorProblem[] {
  const problems: DoctorProblem[] = [];
  for (const gpu of facts.gpus) {
    if (!driverAtLeast(gpu.driverVersion)) {
      problems.push({
        problem: `${gpu.name}: NVIDIA driver ${gpu.driverVersion} is older than ${MIN_DRIVER_VERSION}, the minimum for CUDA 11`,
        fix: `upgrade the NVIDIA driver to ${MIN_DRIVER_VERSION} or newer`,
      });
    }
    if (gpu.kernels === 'unsupported') {
      problems.push({
        problem: `${gpu.name} (compute capability ${gpu.computeCapability}) is older than libtensorflow 2.9.1 supports (${LIBTENSORFLOW_SASS[0]})`,
        fix: 'train on runtime.backend=tensorflow or wasm, or on a newer GPU',
      });
    }
  }
  const missingRuntime = CUDA_RUNTIME_LIBRARIES.filter((library) => !facts.cudaLibraries[library]);
  if (missingRuntime.length > 0) {
    problems.push({
      problem: `${missingRuntime.join(', ')} not found: tfjs-node-gpu 4.x (libtensorflow 2.9.1) needs the CUDA 11.2 runtime and without it computes on the CPU`,
      fix: 'install the CUDA 11.x runtime libraries next to any newer CUDA (NVIDIA apt repo: cuda-libraries-11-2) and add /usr/local/cuda-11.2/lib64 to LD_LIBRARY_PATH',
    });
  }
  if (!facts.cudaLibraries[CUDNN_LIBRARY]) {
    problems.push({
      problem: `${CUDNN_LIBRARY} not found: libtensorflow 2.9.1 needs cuDNN 8.1 and without it computes on the CPU`,
      fix: 'install cuDNN 8.1+ for CUDA 11.x (NVIDIA apt repo, e.g. libcudnn8=8.1.1.33-1+cuda11.2) and add its lib dir to LD_LIBRARY_PATH',
    });
  }
  const jit = facts.gpus.filter((gpu) => gpu.kernels === 'ptx-jit');
  const cache = facts.cudaCache;
  const cacheTooSmall = !cache.maxSize || Number(cache.maxSize) < CUDA_CACHE_MAX / 2;
  if (jit.length > 0 && (cache.disabled || !cache.path || cacheTooSmall)) {
    const gpu = jit[0]!;
    const missing = [
      cache.disabled ? 'CUDA_CACHE_DISABLE=1 turns the cache off' : undefined,
      cache.path ? undefined : 'CUDA_CACHE_PATH is unset (the cache lives in ~/.nv, lost with a container)',
      cacheTooSmall
        ? `CUDA_CACHE_MAXSIZE is ${cache.maxSize ?? 'unset'} (the default may not hold all of TensorFlow's kernels)`
        : undefined,
    ].filter(Boolean);
    problems.push({
      problem: `${gpu.name} (compute capability ${gpu.computeCapability}) has no prebuilt kernels in libtensorflow 2.9.1 (machine code up to ${LIBTENSORFLOW_SASS.at(-1)}, PTX ${LIBTENSORFLOW_PTX}): the driver compiles the PTX on start, which takes many minutes, and ${missing.join('; ')}`,
      fix: `set CUDA_CACHE_PATH to a persistent directory (a mounted volume in containers) and CUDA_CACHE_MAXSIZE=${CUDA_CACHE_MAX}${cache.disabled ? ', and unset CUDA_CACHE_DISABLE' : ''}, so the compilation happens once`,
    });
  }
  return problems;
}
