import {
  type DataType,
  findBackend,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { WasmBackend } from './wasm-access.ts';

/**
 * Runs a kernel wasm lacks on the cpu backend's implementation: inputs are copied off the wasm heap, the cpu kernel
 * runs, the result is copied back. Correct by construction (it is tfjs's reference implementation) but pays two
 * copies, so it is used only for kernels our architectures touch rarely (depthwise conv gradients, segment sums).
 */
export function cpuFallbackKernel(kernelName: string): KernelConfig {
  const kernelFunc = ({ inputs, attrs, backend }: Parameters<KernelFunc>[0]) => {
    const wasm = backend as WasmBackend;
    const cpu = findBackend('cpu');
    const cpuKernel = getKernel(kernelName, 'cpu');
    if (!cpu || !cpuKernel)
      throw new Error(`cpu fallback for ${kernelName} needs the cpu backend registered`);
    const cpuInputs: Record<string, TensorInfo> = {};
    for (const [name, info] of Object.entries(inputs)) {
      if (!info) continue;
      const values = wasm.readSync(info.dataId) as Float32Array | Int32Array;
      cpuInputs[name] = {
        dataId: cpu.write(values, info.shape, info.dtype),
        shape: info.shape,
        dtype: info.dtype,
      };
    }
    const outputs = (cpuKernel.kernelFunc as KernelFunc)({ inputs: cpuInputs, attrs, backend: cpu });
    const results = (Array.isArray(outputs) ? outputs : [outputs]).map((out) => {
      const values = cpu.readSync(out.dataId) as Float32Array | Int32Array;
      cpu.disposeData(out.dataId);
      return wasm.makeOutput(out.shape, out.dtype as DataType, undefined, values);
    });
    for (const info of Object.values(cpuInputs)) cpu.disposeData(info.dataId);
    return Array.isArray(outputs) ? results : results[0]!;
  };
  return { kernelName, backendName: 'wasm', kernelFunc: kernelFunc as KernelFunc };
}
