import { adam } from './adam.ts';
import { blockRuns } from './block-runs.ts';
import { GEMM_BLOCK_ROWS, type GemmOptions, gemm } from './gemm.ts';
import { maxPoolGrad2x2 } from './max-pool-grad-2x2.ts';
import { relaxedSimdSupported } from './relaxed-simd.ts';
import { sumRows } from './sum-rows.ts';
import { emitModule } from './wasm-emitter.ts';

/**
 * SIMD loops for the JS-side work of our wasm kernels, compiled once per wasm backend over its own memory: each
 * runs ~5-10x faster than the same loop in JS on this project's machines. Pointers are byte offsets into the heap.
 */
/** src, dst (bytes), then (count, source stride, target stride) for three levels, then the run length. */
export type BlockArgs = [
  src: number,
  dst: number,
  n0: number,
  ss0: number,
  ds0: number,
  n1: number,
  ss1: number,
  ds1: number,
  n2: number,
  ss2: number,
  ds2: number,
  run: number,
];

export interface SimdKernels {
  /** dst[c] = Σ_r src[r·width + c] for a [rows, width] float32 matrix. */
  sumRows(src: number, rows: number, width: number, dst: number): void;
  /**
   * Max-pool gradient for 2x2 windows at stride 2 without padding, channels a multiple of 4: each dy value goes
   * to the first maximum of its window (NaN and -Infinity never win); dx is fully written.
   */
  maxPoolGrad2x2(
    x: number,
    dy: number,
    dx: number,
    batch: number,
    inHeight: number,
    inWidth: number,
    channels: number,
    outHeight: number,
    outWidth: number,
  ): void;
  /**
   * Copies a 3-level strided block of contiguous float runs (strides in floats, pointers in bytes): for every
   * (i0, i1, i2), `run` floats from src + i0·ss0 + i1·ss1 + i2·ss2 to dst + i0·ds0 + i1·ds1 + i2·ds2.
   */
  copyRuns(...args: BlockArgs): void;
  /** As copyRuns, adding into dst instead of overwriting it. */
  addRuns(...args: BlockArgs): void;
  /**
   * C[m, n] = Σ_p A(p, i)·B[p, j], A(p, i) at a + 4(p·strideK + i·strideM), B [k, n] with row stride ldb, C dense;
   * n a multiple of 16. Aᵀ·B for A [k, m]: strides (lda, 1); A·B for A [m, k]: strides (1, lda).
   */
  gemm(
    a: number,
    b: number,
    c: number,
    k: number,
    m: number,
    n: number,
    strideK: number,
    strideM: number,
    ldb: number,
  ): void;
  /** One Adam update of n weights: m, v in place, new weights (the old ones scaled by `decay`) to out. */
  adam(
    w: number,
    g: number,
    m: number,
    v: number,
    out: number,
    n: number,
    beta1: number,
    beta2: number,
    correction1: number,
    correction2: number,
    learningRate: number,
    epsilon: number,
    decay: number,
  ): void;
}

export interface WasmModuleLike {
  wasmMemory?: { buffer: ArrayBufferLike };
  asm?: { memory?: { buffer: ArrayBufferLike } };
}

/** The WebAssembly JS API (the project's lib settings carry no WebAssembly declarations). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => unknown;
  Instance: new (module: unknown, imports: unknown) => { exports: Record<string, unknown> };
}

const compiled = new WeakMap<object, SimdKernels>();

/**
 * The SIMD kernels bound to a wasm backend module's memory (compiled on first use, then cached). The GEMM uses
 * fused multiply-add wherever the engine has relaxed SIMD.
 */
export function simdKernelsFor(wasmModule: WasmModuleLike): SimdKernels {
  const cached = compiled.get(wasmModule);
  if (cached) return cached;
  const kernels = compileSimdKernels(moduleMemory(wasmModule), {
    fusedMultiplyAdd: relaxedSimdSupported(),
    blockRows: GEMM_BLOCK_ROWS,
  });
  compiled.set(wasmModule, kernels);
  return kernels;
}

/** The memory of a wasm backend module (Emscripten exposes it under one of two names, by build). */
export function moduleMemory(wasmModule: WasmModuleLike): { buffer: ArrayBufferLike } {
  const memory = wasmModule.wasmMemory ?? wasmModule.asm?.memory;
  if (!memory) throw new Error('the wasm backend module exposes no memory');
  return memory;
}

/** Compiles the SIMD kernels over a memory; `fusedMultiplyAdd` needs relaxed SIMD. Tests and benchmarks pick it. */
export function compileSimdKernels(
  memory: { buffer: ArrayBufferLike },
  gemmOptions: GemmOptions,
): SimdKernels {
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const api = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
  const bytes = emitModule(
    [
      sumRows(),
      maxPoolGrad2x2(),
      adam(),
      blockRuns('copyRuns', false),
      blockRuns('addRuns', true),
      gemm(gemmOptions),
    ],
    { shared },
  );
  const instance = new api.Instance(new api.Module(bytes), { env: { memory } });
  return instance.exports as unknown as SimdKernels;
}
