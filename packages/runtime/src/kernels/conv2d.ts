import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  Conv2D,
  type Conv2DAttrs,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { writePatchRows } from './im2col.ts';
import { recordKernelPath } from './kernel-paths.ts';
import { allocateFloat32, disposeInfo, heapOffset, simd, type WasmBackend } from './wasm-access.ts';

export type ConvolutionMethod = 'xnnpack' | 'patch-rows';
let forcedMethod: ConvolutionMethod | undefined;

/**
 * Test and benchmark hook: pins the formulation. Pinning patch-rows where it cannot run (NCHW, or outChannels not a
 * multiple of 16) makes the kernel throw rather than quietly run XNNPACK.
 */
export function forceConvolutionMethod(method: ConvolutionMethod | undefined): void {
  forcedMethod = method;
}

/** Below this many filter taps (fh·fw·inC) the patch-rows form is the default on one thread. */
const MAX_PATCH_ROW_TAPS = 32;

/**
 * A convolution with few filter taps (a first layer on 1-3 channels: 9-27 taps) as im2col + our SIMD GEMM:
 * out [N, outC] = patches [N, taps] · W [taps, outC], the filter already in that layout. On the single-threaded
 * build it takes 1.24x less CPU time than XNNPACK for 3x3x1x32 at batch 64 with a new filter per call, as in
 * training (kernel-speed-cli.ts). It is the default only there: our GEMM runs on one thread while XNNPACK splits
 * its work over the threaded build's pool, and on 2 threads the two measured within noise of each other (0.93x,
 * load average 10). Larger convolutions stay with XNNPACK.
 */
export function fewTapsConv2DConfig(): KernelConfig | undefined {
  const original = getKernel(Conv2D, 'wasm');
  if (!original || (original as { fewTaps?: boolean }).fewTaps) return undefined;
  const originalFunc = original.kernelFunc as KernelFunc;
  const kernelFunc: KernelFunc = (args) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const attrs = args.attrs as unknown as Conv2DAttrs;
    const outChannels = filter.shape[3]!;
    const taps = filter.shape[0]! * filter.shape[1]! * filter.shape[2]!;
    const applies = attrs.dataFormat !== 'NCHW' && outChannels % 16 === 0 && x.dtype === 'float32';
    const method =
      forcedMethod ??
      (applies && taps < MAX_PATCH_ROW_TAPS && getThreadsCount() === 1 ? 'patch-rows' : 'xnnpack');
    if (method === 'xnnpack') {
      recordKernelPath(Conv2D, 'xnnpack');
      return originalFunc(args);
    }
    if (!applies) throw new Error('patch-rows convolution needs NHWC float32 and outChannels % 16 == 0');
    recordKernelPath(Conv2D, 'patch-rows');
    const backend = args.backend as WasmBackend;
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      attrs.strides,
      attrs.dilations,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const n = info.batchSize * info.outHeight * info.outWidth;
    const rows = allocateFloat32(backend, [n, taps]);
    writePatchRows(backend, x, info, rows);
    const out = allocateFloat32(backend, [info.batchSize, info.outHeight, info.outWidth, outChannels]);
    // rows [n, taps] is A [m, k] (strides (1, taps)); the filter [taps, outC] is B.
    simd(backend).gemm(
      heapOffset(backend, rows),
      heapOffset(backend, filter),
      heapOffset(backend, out),
      taps,
      n,
      outChannels,
      1,
      taps,
      outChannels,
    );
    disposeInfo(backend, rows);
    return out;
  };
  return { ...original, kernelFunc, fewTaps: true } as KernelConfig;
}
