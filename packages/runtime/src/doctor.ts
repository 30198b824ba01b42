import * as tf from '@tensorflow/tfjs-core';
import type { BackendKind } from './config.ts';
import { diagnose } from './diagnose.ts';
import type { BackendStatus, DoctorReport } from './doctor-types.ts';
import { findCudaLibraries, kernelSupportFor, listGpus } from './gpu.ts';
import { relaxedSimdSupported } from './kernels/simd/relaxed-simd.ts';
import { NATIVE_PACKAGE } from './native.ts';
import type { MachineProbes } from './probes.ts';
import { AUTO_ORDER, loadedNativeBackend, selectBackend, wasmFeatures } from './select-backend.ts';
import { findTfjsCoreCopies } from './tfjs-core-copies.ts';

/**
 * Checks what this machine can train with: which TF.js backends start (each is started for real, then the cpu
 * backend is made current again), wasm SIMD/threads, that one tfjs-core is shared, and for GPUs the driver, compute
 * capability and the CUDA 11.2 / cuDNN 8.1 libraries libtensorflow 2.9.1 needs. Every problem comes with a fix.
 */
export async function runDoctor(probes: MachineProbes): Promise<DoctorReport> {
  const backends: BackendStatus[] = [];
  for (const backend of AUTO_ORDER) backends.push(await probeBackend(backend, probes));
  const [simd, threads] = await wasmFeatures();
  const gpus = (await listGpus(probes)).map((gpu) => ({
    ...gpu,
    kernels: kernelSupportFor(gpu.computeCapability),
  }));
  const cudaLibraries = gpus.length > 0 ? await findCudaLibraries(probes) : {};
  const cudaCache = {
    path: probes.env.CUDA_CACHE_PATH,
    maxSize: probes.env.CUDA_CACHE_MAXSIZE,
    disabled: probes.env.CUDA_CACHE_DISABLE === '1',
  };
  const tfjsCore = findTfjsCoreCopies();
  await tf.setBackend('cpu');
  const wasm = { simd, threads, relaxedSimd: relaxedSimdSupported() };
  const facts = { backends, wasm, tfjsCore, gpus, cudaLibraries, cudaCache };
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    ...facts,
    autoSelects: backends.find((b) => b.usable)?.backend,
    problems: diagnose(facts),
    healthy: backends.some((b) => b.usable && b.backend !== 'cpu'),
  };
}

async function probeBackend(backend: BackendKind, probes: MachineProbes): Promise<BackendStatus> {
  const owner = loadedNativeBackend();
  if (backend === 'tensorflow' && owner === 'tensorflow-gpu') {
    return {
      backend,
      usable: false,
      detail: `not tried: ${NATIVE_PACKAGE['tensorflow-gpu']} already provides the 'tensorflow' backend in this process`,
    };
  }
  try {
    const chosen = await selectBackend({ backend }, { probes });
    return { backend, usable: true, detail: chosen.reason };
  } catch (error) {
    const { message, hint } = error as Error & { hint?: string };
    return {
      backend,
      usable: false,
      detail: message.replace(/^backend '[^']+' is not available: /, ''),
      hint,
    };
  }
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
    `wasm: SIMD ${report.wasm.simd ? 'yes' : 'no'}, relaxed SIMD (fused multiply-add) ${report.wasm.relaxedSimd ? 'yes' : 'no'}, threads ${report.wasm.threads ? 'yes' : 'no (single-threaded in Node; runtime.threads or runtime.dataParallelWorkers use more cores)'}`,
    `tfjs-core: ${report.tfjsCore.map((c) => `${c.version} at ${c.path} (${c.loadedBy.join(', ')})`).join('; ')}`,
    `GPUs:${report.gpus.length === 0 ? ' none visible' : ''}`,
  ];
  for (const g of report.gpus) {
    lines.push(
      `  ${g.name}: driver ${g.driverVersion}, compute capability ${g.computeCapability ?? '?'}, kernels ${g.kernels}`,
    );
  }
  if (report.gpus.length > 0) {
    for (const [library, path] of Object.entries(report.cudaLibraries))
      lines.push(`  ${library.padEnd(18)} ${path ?? 'NOT FOUND'}`);
    const cache = report.cudaCache;
    lines.push(
      `  CUDA_CACHE_PATH=${cache.path ?? '(unset)'} CUDA_CACHE_MAXSIZE=${cache.maxSize ?? '(unset)'}${cache.disabled ? ' CUDA_CACHE_DISABLE=1' : ''}`,
    );
  }
  lines.push('');
  if (report.problems.length === 0) lines.push('no problems found');
  for (const { problem, fix } of report.problems) lines.push(`problem: ${problem}`, `    fix: ${fix}`);
  lines.push(
    '',
    report.healthy ? 'ok: this machine can train' : 'not ok: no backend that trains at a useful speed',
  );
  return lines.join('\n');
}
