/**
 * Test support: the kernel suite's (kernel-suite.test-support.ts) checks of the SIMD GEMM, the matrix product our
 * patch-rows convolution and filter gradient run on, against a float64 reference: both layouts, both accumulations,
 * odd and padded shapes, and nothing written past the output.
 */
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { maxErrorRelativeToLargest, seededValues } from './gradient-check.ts';
import { LONG_REDUCTION_TOLERANCE, type Sample, TOLERANCE } from './kernel-suite-compare.test-support.ts';
import { GEMM_BLOCK_ROWS } from './simd/gemm.ts';
import { relaxedSimdSupported } from './simd/relaxed-simd.ts';
import { compileSimdKernels, moduleMemory, type WasmModuleLike } from './simd/simd-kernels.ts';
import { allocateFloat32, heapFloat32, heapOffset, type WasmBackend } from './wasm-access.ts';

/** C[i, j] = Σ_p A(p, i)·B[p, j] in float64, A(p, i) at p·strideK + i·strideM, B with row stride ldb. */
function gemmReference(
  a: Float32Array,
  b: Float32Array,
  k: number,
  m: number,
  n: number,
  strideK: number,
  strideM: number,
  ldb: number,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let p = 0; p < k; p += 1)
    for (let i = 0; i < m; i += 1) {
      const av = a[p * strideK + i * strideM]!;
      for (let j = 0; j < n; j += 1) c[i * n + j]! += av * b[p * ldb + j]!;
    }
  return c;
}

/** Adds the SIMD GEMM tests to the current describe; `sample` keeps the odd blocked shapes on a sampling build. */
export function addGemmTests(sample: Sample): void {
  const GEMM_SHAPES = [
    // Aᵀ·B, A [k, m]: the reference CNN's first-layer filter gradient at batch 64 (k = 43,264, 9 taps, 32 channels).
    { layout: 'AT·B', k: 43_264, m: 9, n: 32, lda: 9, ldb: 32 },
    // Odd k and m (m odd computes a spare row it must not store; the last block of rows is partial), rows padded
    // on both operands.
    { layout: 'AT·B', k: 40_001, m: 7, n: 16, lda: 11, ldb: 48 },
    { layout: 'AT·B', k: 3, m: 1, n: 64, lda: 2, ldb: 64 },
    { layout: 'AT·B', k: 1, m: 5, n: 16, lda: 5, ldb: 16 },
    { layout: 'AT·B', k: 0, m: 3, n: 16, lda: 3, ldb: 16 },
    // A·B, A [m, k]: the reference CNN's first convolution at batch 64 (43,264 pixels x 9 taps), odd and padded.
    { layout: 'A·B', k: 9, m: 43_264, n: 32, lda: 9, ldb: 32 },
    { layout: 'A·B', k: 27, m: 1001, n: 48, lda: 30, ldb: 64 },
  ] as const;
  // Both accumulations, whichever this engine picks for training: f32x4.mul + add everywhere, and
  // f32x4.relaxed_madd (FMA) where relaxed SIMD validates (Node 20 with the flag relaxed-simd.ts sets, Node 22+);
  // rows in blocks (as training runs it) and in one pass.
  const references = new Map<string, Float64Array>();
  // The one-pass form (blockRows 0) exists for kernel-speed-cli.ts; it is checked on the odd shapes only.
  const oddShapes = GEMM_SHAPES.filter((shape) => shape.k === 40_001 || shape.m === 1001 || shape.k === 0);
  it.each(
    sample(
      [false, true].flatMap((fusedMultiplyAdd) => [
        ...GEMM_SHAPES.map((shape) => ({ ...shape, fusedMultiplyAdd, blockRows: GEMM_BLOCK_ROWS })),
        ...oddShapes.map((shape) => ({ ...shape, fusedMultiplyAdd, blockRows: 0 })),
      ]),
      (c) => c.blockRows > 0 && (c.k === 40_001 || c.m === 1001),
    ),
  )(
    'SIMD GEMM $layout (fused multiply-add: $fusedMultiplyAdd, block rows: $blockRows) against float64: k=$k m=$m n=$n lda=$lda ldb=$ldb',
    (c) => {
      if (c.fusedMultiplyAdd && !relaxedSimdSupported()) {
        console.warn(
          `skipped: relaxed SIMD does not validate on node ${process.version}; training uses mul + add`,
        );
        return;
      }
      const backend = tf.backend() as WasmBackend;
      const kernels = compileSimdKernels(moduleMemory(backend.wasm as unknown as WasmModuleLike), c);
      const [strideK, strideM] = c.layout === 'AT·B' ? [c.lda, 1] : [1, c.lda];
      const a = tf.tensor1d(seededValues((c.layout === 'AT·B' ? c.k : c.m) * c.lda, 6));
      const b = tf.tensor1d(seededValues(c.k * c.ldb, 7));
      // A guard row after C: nothing may be written past m·n.
      const out = allocateFloat32(backend, [c.m * c.n + c.n]);
      heapFloat32(backend, out).fill(42);
      kernels.gemm(
        heapOffset(backend, a),
        heapOffset(backend, b),
        heapOffset(backend, out),
        c.k,
        c.m,
        c.n,
        strideK,
        strideM,
        c.ldb,
      );
      const result = heapFloat32(backend, out).slice();
      backend.disposeData(out.dataId);
      const key = `${c.layout} ${c.k} ${c.m} ${c.n} ${c.lda} ${c.ldb}`;
      const aValues = a.dataSync() as Float32Array;
      const bValues = b.dataSync() as Float32Array;
      if (!references.has(key))
        references.set(key, gemmReference(aValues, bValues, c.k, c.m, c.n, strideK, strideM, c.ldb));
      const expected = references.get(key)!;
      tf.dispose([a, b]);
      expect(maxErrorRelativeToLargest(result.subarray(0, c.m * c.n), expected)).toBeLessThan(
        c.k >= 40_000 ? LONG_REDUCTION_TOLERANCE : TOLERANCE,
      );
      expect([...result.subarray(c.m * c.n)]).toEqual(new Array(c.n).fill(42));
    },
  );
}
