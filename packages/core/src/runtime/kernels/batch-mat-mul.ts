import {
  BatchMatMul,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { disposeInfo, runWasmKernel, type WasmBackend } from './wasm-access.ts';

/**
 * tfjs-wasm multiplies transposed operands in a plain loop about 13x slower than its XNNPACK path for untransposed
 * ones (measured on this project's CI machine: 0.8 vs 11 GMAC/s). Every dense-layer gradient asks for a transposed
 * product, so this wrapper transposes the operand explicitly (a cheap copy) and takes the fast path.
 */
export function fastBatchMatMulConfig(): KernelConfig | undefined {
  const original = getKernel(BatchMatMul, 'wasm');
  if (!original || (original as { fastTransposes?: boolean }).fastTransposes) return undefined;
  const originalFunc = original.kernelFunc as KernelFunc;
  const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return originalFunc({ inputs, backend, attrs });
    const wasm = backend as WasmBackend;
    const a = inputs.a as TensorInfo;
    const b = inputs.b as TensorInfo;
    const swapLast = (x: TensorInfo) =>
      runWasmKernel(
        wasm,
        'Transpose',
        { x },
        {
          perm: [...x.shape.keys()].map((i, _, all) =>
            i < all.length - 2 ? i : i === all.length - 2 ? all.length - 1 : all.length - 2,
          ),
        },
      );
    const aReady = transposeA ? swapLast(a) : a;
    const bReady = transposeB ? swapLast(b) : b;
    const out = originalFunc({
      inputs: { a: aReady, b: bReady },
      backend,
      attrs: { ...attrs, transposeA: false, transposeB: false },
    });
    if (transposeA) disposeInfo(wasm, aReady);
    if (transposeB) disposeInfo(wasm, bReady);
    return out;
  };
  return { ...original, kernelFunc, fastTransposes: true } as KernelConfig;
}
