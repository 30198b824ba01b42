/**
 * Test support: every wasm training kernel, FusedAdam and the whole-model gradients of the three architecture
 * families compared with the cpu backend (tfjs's reference implementation). kernels.test.ts runs it on the stock
 * single-threaded build and kernels-threaded.test.ts on the threaded build with 2 threads, the configuration
 * training uses. A test named after a formulation pins it and checks, through the kernel-path counters, that it ran.
 *
 * The cases live by kind in kernel-suite-{conv,gemm,layers,memory}.test-support.ts, the comparison and its
 * tolerances in kernel-suite-compare.test-support.ts; they run in one describe, in this order.
 */
import { afterEach, describe } from 'vitest';
import { forceConvolutionMethod } from './conv2d.ts';
import { forceFilterGradientMethod } from './conv2d-backprop-filter.ts';
import { forceInputGradientMethod } from './conv2d-backprop-input.ts';
import { addConvolutionTests } from './kernel-suite-conv.test-support.ts';
import { addGemmTests } from './kernel-suite-gemm.test-support.ts';
import { addLayerKernelTests } from './kernel-suite-layers.test-support.ts';
import { addMemoryTests } from './kernel-suite-memory.test-support.ts';
import { describeModelGradients } from './model-gradients.test-support.ts';

/**
 * Registers the suite; the caller has made the wasm backend (of the build under test) current. `sampleShapes`
 * (the threaded build) runs our own SIMD loops, which are single-threaded and the same code on either build (only
 * the memory they address is shared), on a sample of their shapes; every XNNPACK-backed kernel and every
 * formulation still runs on every case.
 */
export function describeKernelSuite(
  build: string,
  { sampleShapes = false }: { sampleShapes?: boolean } = {},
): void {
  const sample = <T>(items: readonly T[], keep: (item: T, index: number) => boolean): T[] =>
    sampleShapes ? items.filter(keep) : [...items];
  afterEach(() => {
    forceConvolutionMethod(undefined);
    forceFilterGradientMethod(undefined);
    forceInputGradientMethod(undefined);
  });

  describe(`wasm training kernels match the cpu backend (${build})`, () => {
    addConvolutionTests(sample);
    addGemmTests(sample);
    addLayerKernelTests();
    addMemoryTests();
  });
  describeModelGradients(build);
}
