import {
  BatchMatMul,
  type DataId,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';
import { recordKernelPath } from './kernel-paths.ts';
import { disposeInfo, runWasmKernel, type WasmBackend } from './wasm-access.ts';

/** Relative costs per value on the wasm backend: a transpose copy, and XNNPACK packing a matmul's right operand. */
const TRANSPOSE_COST = 1;
const PACK_COST = 10;

/**
 * tfjs-wasm's BatchMatMul reaches XNNPACK only without transposes (a transposed operand falls to a plain loop about
 * 13x slower), and XNNPACK packs the right operand on every call with a new right operand (~9 ns per value, on one
 * thread) — per training step the weights and gradients are all new. This wrapper computes C = A·B either directly
 * (packing B) or as Cᵀ = Bᵀ·Aᵀ (packing A), whichever moves fewer values, with transposes made explicit. A right
 * operand already seen (weights during inference) goes direct, so XNNPACK's per-tensor cache of packed weights
 * applies from its second use on.
 */
export function fastBatchMatMulConfig(): KernelConfig | undefined {
  const original = getKernel(BatchMatMul, 'wasm');
  if (!original || (original as { fastTransposes?: boolean }).fastTransposes) return undefined;
  const originalFunc = original.kernelFunc as KernelFunc;
  const seenRight = new WeakSet<DataId>();
  const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    const wasm = backend as WasmBackend;
    const a = inputs.a as TensorInfo;
    const b = inputs.b as TensorInfo;
    const single =
      util.sizeFromShape(a.shape.slice(0, -2)) === 1 && util.sizeFromShape(b.shape.slice(0, -2)) === 1;
    const seen = seenRight.has(b.dataId);
    seenRight.add(b.dataId);
    if (!single) {
      recordKernelPath(BatchMatMul, 'batched');
      return explicitTransposes(wasm, originalFunc, a, b, transposeA, transposeB, attrs);
    }
    const [m, k] = transposeA ? [a.shape.at(-1)!, a.shape.at(-2)!] : [a.shape.at(-2)!, a.shape.at(-1)!];
    const n = transposeB ? b.shape.at(-2)! : b.shape.at(-1)!;
    const direct =
      (transposeA ? m * k : 0) * TRANSPOSE_COST +
      (transposeB ? n * k : 0) * TRANSPOSE_COST +
      PACK_COST * k * n;
    const swapped =
      (transposeB ? 0 : n * k) * TRANSPOSE_COST +
      (transposeA ? 0 : m * k) * TRANSPOSE_COST +
      PACK_COST * m * k +
      m * n;
    if ((seen && !transposeB) || direct <= swapped) {
      recordKernelPath(BatchMatMul, 'direct');
      return explicitTransposes(wasm, originalFunc, a, b, transposeA, transposeB, attrs);
    }
    // Cᵀ = Bᵀ·Aᵀ: Bᵀ is b itself when transposeB, Aᵀ is a itself when transposeA.
    recordKernelPath(BatchMatMul, 'swapped');
    const productT = explicitTransposes(wasm, originalFunc, b, a, !transposeB, !transposeA, attrs);
    const outShape = [...productT.shape.slice(0, -2), m, n];
    const rank = productT.shape.length;
    const perm = [...productT.shape.keys()].map((i) =>
      i < rank - 2 ? i : i === rank - 2 ? rank - 1 : rank - 2,
    );
    const product = runWasmKernel(wasm, 'Transpose', { x: productT }, { perm });
    disposeInfo(wasm, productT);
    product.shape = outShape;
    return product;
  };
  return { ...original, kernelFunc, fastTransposes: true } as KernelConfig;
}

/** The stock kernel on operands made untransposed by explicit (cheap) copies, so it takes its XNNPACK path. */
function explicitTransposes(
  backend: WasmBackend,
  originalFunc: KernelFunc,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  attrs: object | undefined,
): TensorInfo {
  const swapLast = (x: TensorInfo) => {
    const rank = x.shape.length;
    const perm = [...x.shape.keys()].map((i) => (i < rank - 2 ? i : i === rank - 2 ? rank - 1 : rank - 2));
    return runWasmKernel(backend, 'Transpose', { x }, { perm });
  };
  const aReady = transposeA ? swapLast(a) : a;
  const bReady = transposeB ? swapLast(b) : b;
  const out = originalFunc({
    inputs: { a: aReady, b: bReady },
    backend,
    attrs: { ...attrs, transposeA: false, transposeB: false },
  }) as TensorInfo;
  if (transposeA) disposeInfo(backend, aReady);
  if (transposeB) disposeInfo(backend, bReady);
  return out;
}
