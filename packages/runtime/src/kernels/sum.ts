import {
  getKernel,
  type KernelConfig,
  type KernelFunc,
  Sum,
  type SumAttrs,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';
import { recordKernelPath } from './kernel-paths.ts';
import { allocateFloat32, heapOffset, simd, type WasmBackend } from './wasm-access.ts';

/**
 * Sum over the leading axes of a float32 tensor (the bias gradient of every conv and dense layer: [N, H, W, C] →
 * [C]) as one SIMD pass down the rows. The stock wasm kernel reduces only the innermost axis, so it first transposes the
 * whole tensor; other reductions still go to it.
 */
export function leadingAxesSumConfig(): KernelConfig | undefined {
  const original = getKernel(Sum, 'wasm');
  if (!original || (original as { leadingAxes?: boolean }).leadingAxes) return undefined;
  const originalFunc = original.kernelFunc as KernelFunc;
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    const { axis, keepDims } = args.attrs as unknown as SumAttrs;
    const axes = util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.every((a, i) => a === i) && axes.length < x.shape.length;
    if (!leading || x.dtype !== 'float32') {
      recordKernelPath(Sum, 'stock');
      return originalFunc(args);
    }
    recordKernelPath(Sum, 'leading-axes');
    const backend = args.backend as WasmBackend;
    const rows = util.sizeFromShape(x.shape.slice(0, axes.length));
    const width = util.sizeFromShape(x.shape.slice(axes.length));
    const outShape = keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length);
    const out = allocateFloat32(backend, outShape);
    simd(backend).sumRows(heapOffset(backend, x), rows, width, heapOffset(backend, out));
    return out;
  };
  return { ...original, kernelFunc, leadingAxes: true } as KernelConfig;
}
