import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { getKernel, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { type SimdKernels, simdKernelsFor } from './simd/simd-kernels.ts';

/**
 * Small helpers over tfjs-backend-wasm internals used by our kernels: tensors live on the wasm heap, and kernels
 * compose other wasm kernels by calling their kernelFunc directly (as tfjs's own wasm kernels do), which avoids the
 * engine's bookkeeping for intermediates that never escape.
 */
export type WasmBackend = BackendWasm;

/** Float32 view of a tensor's memory on the wasm heap (no copy; invalid after the heap grows). */
export function heapFloat32(backend: WasmBackend, info: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/** Allocates an uninitialised float32 tensor on the wasm heap. */
export function allocateFloat32(backend: WasmBackend, shape: number[]): TensorInfo {
  return backend.makeOutput(shape, 'float32');
}

/** Runs another registered wasm kernel on tensor infos. */
export function runWasmKernel(
  backend: WasmBackend,
  kernelName: string,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap = {},
): TensorInfo {
  const kernel = getKernel(kernelName, 'wasm');
  if (!kernel) throw new Error(`wasm kernel ${kernelName} is not registered`);
  return (kernel.kernelFunc as KernelFunc)({ inputs, backend, attrs }) as TensorInfo;
}

export function disposeInfo(backend: WasmBackend, info: TensorInfo): void {
  backend.disposeData(info.dataId);
}

/** Byte offset of a tensor's data on the wasm heap, for the SIMD kernels. */
export function heapOffset(backend: WasmBackend, info: TensorInfo): number {
  return (backend.dataIdMap.get(info.dataId) as unknown as { memoryOffset: number }).memoryOffset;
}

/** The SIMD helper kernels compiled over this backend's memory. */
export function simd(backend: WasmBackend): SimdKernels {
  return simdKernelsFor(backend.wasm as unknown as Parameters<typeof simdKernelsFor>[0]);
}
