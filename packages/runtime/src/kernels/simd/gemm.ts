import { type Bytes, type FunctionDefinition, forLoop, I32, ifThen, op, V128 } from './wasm-emitter.ts';

export interface GemmOptions {
  /**
   * Accumulate with f32x4.relaxed_madd (one instruction, and one rounding where the CPU has FMA) instead of
   * f32x4.mul + f32x4.add; only for engines where relaxed SIMD validates (see relaxed-simd.ts).
   */
  fusedMultiplyAdd: boolean;
  /**
   * Rows of A and B per pass (0: all k in one pass). Every 2x16 tile of C streams its rows of B once per pass; in
   * blocks, a block of B is read from memory once and then from cache by every tile.
   */
  blockRows: number;
}

/** The options training uses; gemm-speed-cli.ts times the alternatives. */
export const GEMM_BLOCK_ROWS = 256;

/**
 * C[m, n] = Σ_p A(p, i)·B[p, j] for p < k, with A(p, i) at a + 4(p·strideK + i·strideM) (so Aᵀ·B for A [k, m] with
 * strides (lda, 1), and A·B for A [m, k] with strides (1, lda)), B [k, n] with row stride ldb, C dense; n a multiple
 * of 16. Neither operand is packed: 2x16 register tiles (8 accumulators, 4 vectors of B, 2 splats of A: 14 of the
 * 16 SIMD registers x64 has) stream down k. For shapes where XNNPACK's packing would cost more than the product:
 * first-layer filter gradients (small m, k in the tens of thousands) and first-layer convolutions (k = taps).
 */
export function gemm({ fusedMultiplyAdd, blockRows }: GemmOptions): FunctionDefinition {
  const [a, b, c, k, m, n, strideK, strideM, ldb] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [i, j, kk, pa, pb, pc, k0, k1] = [9, 10, 11, 12, 13, 14, 15, 16];
  const acc = [17, 18, 19, 20, 21, 22, 23, 24];
  const bv = [25, 26, 27, 28];
  const [s0, s1] = [29, 30];
  const zero: Bytes = [...op.f32(0), ...op.f32x4Splat];
  // sum += a·b
  const accumulate = (sum: number, x: number, y: number): Bytes =>
    fusedMultiplyAdd
      ? [...op.get(x), ...op.get(y), ...op.get(sum), ...op.f32x4RelaxedMadd, ...op.set(sum)]
      : [...op.get(sum), ...op.get(x), ...op.get(y), ...op.f32x4Mul, ...op.f32x4Add, ...op.set(sum)];
  const plus = (pointer: number, bytes: Bytes): Bytes => [...op.get(pointer), ...bytes, ...op.i32Add];
  const times4 = (value: Bytes): Bytes => [...value, ...op.i32(2), ...op.i32Shl];
  // Row i+1 of the tile exists (odd m computes a spare row that is never loaded or stored).
  const secondRow: Bytes = [...op.get(i), ...op.i32(1), ...op.i32Add, ...op.get(m), ...op.i32LtS];
  const rowOffset = (q: number): Bytes => [
    ...times4(op.get(n)),
    ...op.i32Add,
    ...op.i32(16 * q),
    ...op.i32Add,
  ];
  const tile: Bytes = [
    // pc = c + 4(i·n + j)
    ...op.get(c),
    ...times4([...op.get(i), ...op.get(n), ...op.i32Mul, ...op.get(j), ...op.i32Add]),
    ...op.i32Add,
    ...op.set(pc),
    // The tile's running sums: from C after the first pass, zero in it.
    ...acc.flatMap((local) => [...zero, ...op.set(local)]),
    ...(blockRows > 0
      ? ifThen(
          [...op.get(k0), ...op.i32(0), ...op.i32Ne],
          [
            ...acc
              .slice(0, 4)
              .flatMap((local, q) => [...plus(pc, op.i32(16 * q)), ...op.v128Load, ...op.set(local)]),
            ...ifThen(
              secondRow,
              acc
                .slice(4)
                .flatMap((local, q) => [...op.get(pc), ...rowOffset(q), ...op.v128Load, ...op.set(local)]),
            ),
          ],
        )
      : []),
    // pa = a + 4(k0·strideK + i·strideM), pb = b + 4(k0·ldb + j)
    ...op.get(a),
    ...times4([
      ...op.get(k0),
      ...op.get(strideK),
      ...op.i32Mul,
      ...op.get(i),
      ...op.get(strideM),
      ...op.i32Mul,
      ...op.i32Add,
    ]),
    ...op.i32Add,
    ...op.set(pa),
    ...op.get(b),
    ...times4([...op.get(k0), ...op.get(ldb), ...op.i32Mul, ...op.get(j), ...op.i32Add]),
    ...op.i32Add,
    ...op.set(pb),
    ...forLoop(kk, op.get(k0), op.get(k1), 1, [
      ...bv.flatMap((local, q) => [...plus(pb, op.i32(16 * q)), ...op.v128Load, ...op.set(local)]),
      ...op.get(pa),
      ...op.f32Load,
      ...op.f32x4Splat,
      ...op.set(s0),
      ...plus(pa, times4(op.get(strideM))),
      ...op.f32Load,
      ...op.f32x4Splat,
      ...op.set(s1),
      ...bv.flatMap((local, q) => [...accumulate(acc[q]!, s0, local), ...accumulate(acc[q + 4]!, s1, local)]),
      ...plus(pa, times4(op.get(strideK))),
      ...op.set(pa),
      ...plus(pb, times4(op.get(ldb))),
      ...op.set(pb),
    ]),
    ...acc
      .slice(0, 4)
      .flatMap((local, q) => [...plus(pc, op.i32(16 * q)), ...op.get(local), ...op.v128Store]),
    ...ifThen(
      secondRow,
      acc.slice(4).flatMap((local, q) => [...op.get(pc), ...rowOffset(q), ...op.get(local), ...op.v128Store]),
    ),
  ];
  const pass = forLoop(i, op.i32(0), op.get(m), 2, forLoop(j, op.i32(0), op.get(n), 16, tile));
  // k1 = min(k0 + blockRows, k)
  const blockEnd: Bytes = [
    ...op.get(k0),
    ...op.i32(blockRows),
    ...op.i32Add,
    ...op.get(k),
    ...op.get(k0),
    ...op.i32(blockRows),
    ...op.i32Add,
    ...op.get(k),
    ...op.i32LtS,
    ...op.select,
    ...op.set(k1),
  ];
  return {
    name: 'gemm',
    params: [I32, I32, I32, I32, I32, I32, I32, I32, I32],
    locals: [
      I32,
      I32,
      I32,
      I32,
      I32,
      I32,
      I32,
      I32,
      ...Array<typeof V128>(acc.length + bv.length + 2).fill(V128),
    ],
    body:
      blockRows > 0
        ? [
            // k = 0 runs no pass: C is the zero matrix
            ...ifThen(
              [...op.get(k), ...op.i32Eqz],
              [
                ...op.get(c),
                ...op.i32(0),
                ...times4([...op.get(m), ...op.get(n), ...op.i32Mul]),
                ...op.memoryFill,
              ],
            ),
            ...forLoop(k0, op.i32(0), op.get(k), blockRows, [...blockEnd, ...pass]),
          ]
        : [...op.i32(0), ...op.set(k0), ...op.get(k), ...op.set(k1), ...pass],
  };
}
