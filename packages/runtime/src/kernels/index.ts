// Gradient definitions live outside tfjs-core's main entry, and its ESM deep import does not load under plain
// Node; tfjs-layers registers them in both its Node bundle and its ESM build, and training needs layers anyway.
import '@tensorflow/tfjs-layers';
import {
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  getKernel,
  type KernelConfig,
  registerKernel,
  UnsortedSegmentSum,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import { identityConfig, sameTypeCastConfig } from './aliases.ts';
import { fastBatchMatMulConfig } from './batch-mat-mul.ts';
import { registerGradientOverrides } from './batch-norm-grad.ts';
import { fewTapsConv2DConfig } from './conv2d.ts';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.ts';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.ts';
import { cpuFallbackKernel } from './cpu-fallback.ts';
import { maxPoolGradConfig } from './max-pool-grad.ts';
import { leadingAxesSumConfig } from './sum.ts';

export { registerGradientOverrides } from './batch-norm-grad.ts';
export { type AdamOptions, type AdamState, decaysByDefault, FusedAdam } from './fused-adam.ts';
export { configuredWasmThreads, configureWasmBackend, type WasmBackendOptions } from './wasm-threads.ts';

/** Kernels tfjs-backend-wasm 4.22 lacks and training our architectures needs. */
const MISSING_KERNELS: KernelConfig[] = [
  conv2dBackpropFilterConfig,
  // Depthwise conv gradients and UnsortedSegmentSum (the gradient of gather, used by embeddings) are rare in our
  // architectures; the cpu reference implementation is exact and fast enough for them.
  cpuFallbackKernel(DepthwiseConv2dNativeBackpropFilter),
  cpuFallbackKernel(DepthwiseConv2dNativeBackpropInput),
  cpuFallbackKernel(UnsortedSegmentSum),
];

/** Stock wasm kernels that training hits on every step and that we replace with faster formulations. */
const FASTER_KERNELS: Array<() => KernelConfig | undefined> = [
  () => conv2dBackpropInputConfig,
  () => maxPoolGradConfig,
  fastBatchMatMulConfig,
  leadingAxesSumConfig,
  fewTapsConv2DConfig,
  () => identityConfig,
  sameTypeCastConfig,
];

const replaced = new Set<string>();

/**
 * Makes the wasm backend able to train convolutional networks, and fast at it: registers the missing gradient
 * kernels, replaces slow stock ones, and replaces the batch-norm gradient with an equivalent broadcasting one
 * (registerGradientOverrides; gradients are shared by all backends). Idempotent. Call it before or after
 * `setBackend('wasm')`. Returns the names of the kernels it registered this time.
 */
export function registerWasmTrainingKernels(): string[] {
  registerGradientOverrides();
  const added: string[] = [];
  for (const config of MISSING_KERNELS) {
    if (getKernel(config.kernelName, 'wasm')) continue;
    registerKernel(config);
    added.push(config.kernelName);
  }
  for (const make of FASTER_KERNELS) {
    const config = make();
    if (!config || replaced.has(config.kernelName)) continue;
    if (getKernel(config.kernelName, 'wasm')) unregisterKernel(config.kernelName, 'wasm');
    registerKernel(config);
    replaced.add(config.kernelName);
    added.push(config.kernelName);
  }
  return added;
}
