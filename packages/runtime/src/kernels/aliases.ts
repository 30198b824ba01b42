import {
  Cast,
  type CastAttrs,
  getKernel,
  Identity,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { recordKernelPath } from './kernel-paths.ts';
import type { WasmBackend } from './wasm-access.ts';

/**
 * tfjs tensors are immutable, so an identity (clone, or a cast to the same dtype — ReLU's gradient casts its mask to
 * float32 every step) can share the input's memory with a reference count, as the cpu backend and wasm's own
 * Reshape do; the stock wasm kernels copy the whole tensor instead.
 */
function alias(backend: WasmBackend, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

export const identityConfig: KernelConfig = {
  kernelName: Identity,
  backendName: 'wasm',
  kernelFunc: (({ inputs, backend }) => {
    recordKernelPath(Identity, 'alias');
    return alias(backend as WasmBackend, inputs.x as TensorInfo);
  }) as KernelFunc,
};

/** Cast to the same dtype as an alias; real conversions go to the stock kernel. */
export function sameTypeCastConfig(): KernelConfig | undefined {
  const original = getKernel(Cast, 'wasm');
  if (!original || (original as { aliases?: boolean }).aliases) return undefined;
  const originalFunc = original.kernelFunc as KernelFunc;
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    const { dtype } = args.attrs as unknown as CastAttrs;
    recordKernelPath(Cast, x.dtype === dtype ? 'alias' : 'convert');
    return x.dtype === dtype ? alias(args.backend as WasmBackend, x) : originalFunc(args);
  };
  return { ...original, kernelFunc, aliases: true } as KernelConfig;
}
