import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendKind } from './config.ts';
import {
  CUDA_LIBRARIES,
  findCudaLibraries,
  type GpuInfo,
  listGpus,
  NEWEST_PREBUILT_COMPUTE_CAPABILITY,
} from './gpu.ts';
import type { MachineProbes } from './probes.ts';
import { selectBackend } from './select-backend.ts';

export interface BackendStatus {
  backend: BackendKind;
  usable: boolean;
  detail: string;
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
  wasm: { simd: boolean; threads: boolean };
  gpus: GpuInfo[];
  cudaLibraries: Record<string, string | undefined>;
  problems: DoctorProblem[];
  /** True when at least one backend that can train works. */
  healthy: boolean;
}

/**
 * Checks what this machine can train with: which TF.js backends start, wasm SIMD/threads, and for GPUs the driver,
 * compute capability and the CUDA 11.2 / cuDNN 8.1 libraries libtensorflow 2.9.1 needs. Every problem comes with a
 * fix. Each backend is started for real, then the cpu backend is restored.
 */
export async function runDoctor(probes: MachineProbes): Promise<DoctorReport> {
  const backends: BackendStatus[] = [];
  for (const backend of ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const) {
    try {
      const chosen = await selectBackend({ backend }, { probes });
      backends.push({ backend, usable: true, detail: `tfjs backend '${chosen.tfBackendName}'` });
    } catch (error) {
      backends.push({
        backend,
        usable: false,
        detail: (error as Error).message.replace(/^backend '[^']+' is not available: /, ''),
      });
    }
  }
  const autoSelects = backends.find((b) => b.usable)?.backend;
  const wasm = {
    simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
    threads: Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')),
  };
  const gpus = await listGpus(probes);
  const cudaLibraries = gpus.length > 0 ? await findCudaLibraries(probes) : {};
  const problems = diagnose({ backends, gpus, cudaLibraries, wasm, env: probes.env });
  await tf.setBackend('cpu');
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    backends,
    autoSelects,
    wasm,
    gpus,
    cudaLibraries,
    problems,
    healthy: backends.some((b) => b.usable && b.backend !== 'cpu'),
  };
}

function diagnose(facts: {
  backends: BackendStatus[];
  gpus: GpuInfo[];
  cudaLibraries: Record<string, string | undefined>;
  wasm: { simd: boolean; threads: boolean };
  env: Readonly<Record<string, string | undefined>>;
}): DoctorProblem[] {
  const problems: DoctorProblem[] = [];
  const status = (name: BackendKind) => facts.backends.find((b) => b.backend === name)!;
  if (facts.gpus.length > 0) {
    for (const library of CUDA_LIBRARIES) {
      if (!facts.cudaLibraries[library]) {
        problems.push({
          problem: `${library} not found: tfjs-node-gpu 4.x (libtensorflow 2.9.1) needs CUDA 11.2 and cuDNN 8.1`,
          fix: library.startsWith('libcudnn')
            ? 'install cuDNN 8.1 for CUDA 11.x (e.g. the libcudnn8 package) and add its lib dir to LD_LIBRARY_PATH'
            : 'install the CUDA 11.2 runtime (cuda-cudart-11-2) next to any newer CUDA and add /usr/local/cuda-11.2/lib64 to LD_LIBRARY_PATH',
        });
      }
    }
    for (const gpu of facts.gpus) {
      const capability = Number(gpu.computeCapability);
      if (capability > NEWEST_PREBUILT_COMPUTE_CAPABILITY && !facts.env.CUDA_CACHE_PATH) {
        problems.push({
          problem: `${gpu.name} (compute capability ${gpu.computeCapability}) is newer than libtensorflow 2.9.1's prebuilt kernels (<= ${NEWEST_PREBUILT_COMPUTE_CAPABILITY}): its PTX is JIT-compiled on first start, which takes minutes`,
          fix: 'set CUDA_CACHE_PATH to a persistent directory (and CUDA_CACHE_MAXSIZE=4294967296) so the compilation happens once',
        });
      }
    }
    if (!status('tensorflow-gpu').usable) {
      problems.push({
        problem: `a GPU is visible but tensorflow-gpu does not start: ${status('tensorflow-gpu').detail}`,
        fix: 'fix the items above, then `pnpm rebuild @tensorflow/tfjs-node-gpu`',
      });
    }
  }
  if (!status('tensorflow').usable && !status('tensorflow-gpu').usable) {
    problems.push({
      problem: `native TensorFlow is unavailable (${status('tensorflow').detail}); training runs on wasm`,
      fix: 'where the Google download CDN is reachable, `pnpm rebuild @tensorflow/tfjs-node` installs libtensorflow for faster CPU training',
    });
  }
  if (status('wasm').usable && !facts.wasm.simd) {
    problems.push({
      problem: 'WebAssembly SIMD is not supported: wasm kernels run several times slower',
      fix: 'use Node.js >= 20',
    });
  }
  if (!status('wasm').usable) {
    problems.push({
      problem: `the wasm backend does not start: ${status('wasm').detail}`,
      fix: 'reinstall with `pnpm install --force`',
    });
  }
  return problems;
}

/** The report as a table for people. */
export function formatDoctorReport(report: DoctorReport): string {
  const lines = [
    `node ${report.node} on ${report.platform}`,
    '',
    'backend          usable  detail',
    ...report.backends.map(
      (b) => `${b.backend.padEnd(16)} ${(b.usable ? 'yes' : 'no').padEnd(7)} ${b.detail}`,
    ),
    '',
    `auto selects: ${report.autoSelects ?? 'nothing'}`,
    `wasm: SIMD ${report.wasm.simd ? 'yes' : 'no'}, threads ${report.wasm.threads ? 'yes' : 'no (single-threaded)'}`,
    `GPUs: ${report.gpus.length === 0 ? 'none visible' : report.gpus.map((g) => `${g.name} (driver ${g.driverVersion}, compute ${g.computeCapability ?? '?'})`).join('; ')}`,
  ];
  if (report.gpus.length > 0) {
    for (const [library, path] of Object.entries(report.cudaLibraries))
      lines.push(`  ${library}: ${path ?? 'NOT FOUND'}`);
  }
  lines.push('');
  if (report.problems.length === 0) lines.push('no problems found');
  for (const { problem, fix } of report.problems) lines.push(`problem: ${problem}`, `    fix: ${fix}`);
  lines.push(
    '',
    report.healthy ? 'ok: this machine can train' : 'not ok: no backend that can train at a useful speed',
  );
  return lines.join('\n');
}
