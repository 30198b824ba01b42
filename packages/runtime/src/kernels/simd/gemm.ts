import { type Bytes, type FunctionDefinition, forLoop, I32, ifThen, op, V128 } from './wasm-emitter.ts';

/**
 * C[m, n] = Aᵀ·B for A [k, m] and B [k, n] (row strides lda, ldb floats; C dense), n a multiple of 16, without
 * packing either operand: 2x16 register tiles streamed down k. Meant for small m (first-layer filter gradients, where
 * XNNPACK would first pack a B as large as dy).
 *
 * `fusedMultiplyAdd` accumulates with f32x4.relaxed_madd (one instruction, and one rounding where the CPU has FMA)
 * instead of f32x4.mul + f32x4.add; only for engines where relaxed SIMD validates (see relaxed-simd.ts).
 */
export function gemmTransposedA({ fusedMultiplyAdd }: { fusedMultiplyAdd: boolean }): FunctionDefinition {
  const [a, b, c, k, m, n, lda, ldb] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [i, j, kk, pa, pb, pc] = [8, 9, 10, 11, 12, 13];
  const acc = [14, 15, 16, 17, 18, 19, 20, 21];
  const bv = [22, 23, 24, 25];
  const [s0, s1] = [26, 27];
  const zero: Bytes = [...op.f32(0), ...op.f32x4Splat];
  // sum += a·b
  const accumulate = (sum: number, a: number, b: number): Bytes =>
    fusedMultiplyAdd
      ? [...op.get(a), ...op.get(b), ...op.get(sum), ...op.f32x4RelaxedMadd, ...op.set(sum)]
      : [...op.get(sum), ...op.get(a), ...op.get(b), ...op.f32x4Mul, ...op.f32x4Add, ...op.set(sum)];
  const body: Bytes = [
    ...acc.flatMap((local) => [...zero, ...op.set(local)]),
    // pa = a + 4i, pb = b + 4j
    ...op.get(a),
    ...op.get(i),
    ...op.i32(2),
    ...op.i32Shl,
    ...op.i32Add,
    ...op.set(pa),
    ...op.get(b),
    ...op.get(j),
    ...op.i32(2),
    ...op.i32Shl,
    ...op.i32Add,
    ...op.set(pb),
    ...forLoop(kk, op.i32(0), op.get(k), 1, [
      ...bv.flatMap((local, q) => [
        ...op.get(pb),
        ...op.i32(16 * q),
        ...op.i32Add,
        ...op.v128Load,
        ...op.set(local),
      ]),
      ...op.get(pa),
      ...op.f32Load,
      ...op.f32x4Splat,
      ...op.set(s0),
      ...op.get(pa),
      ...op.i32(4),
      ...op.i32Add,
      ...op.f32Load,
      ...op.f32x4Splat,
      ...op.set(s1),
      ...bv.flatMap((local, q) => [...accumulate(acc[q]!, s0, local), ...accumulate(acc[q + 4]!, s1, local)]),
      ...op.get(pa),
      ...op.get(lda),
      ...op.i32(2),
      ...op.i32Shl,
      ...op.i32Add,
      ...op.set(pa),
      ...op.get(pb),
      ...op.get(ldb),
      ...op.i32(2),
      ...op.i32Shl,
      ...op.i32Add,
      ...op.set(pb),
    ]),
    // pc = c + 4(i·n + j); row i+1 is stored only when it exists (odd m computes a spare row)
    ...op.get(c),
    ...op.get(i),
    ...op.get(n),
    ...op.i32Mul,
    ...op.get(j),
    ...op.i32Add,
    ...op.i32(2),
    ...op.i32Shl,
    ...op.i32Add,
    ...op.set(pc),
    ...acc
      .slice(0, 4)
      .flatMap((local, q) => [
        ...op.get(pc),
        ...op.i32(16 * q),
        ...op.i32Add,
        ...op.get(local),
        ...op.v128Store,
      ]),
    ...ifThen(
      [...op.get(i), ...op.i32(1), ...op.i32Add, ...op.get(m), ...op.i32LtS],
      acc
        .slice(4)
        .flatMap((local, q) => [
          ...op.get(pc),
          ...op.get(n),
          ...op.i32(2),
          ...op.i32Shl,
          ...op.i32Add,
          ...op.i32(16 * q),
          ...op.i32Add,
          ...op.get(local),
          ...op.v128Store,
        ]),
    ),
  ];
  return {
    name: 'gemmTransposedA',
    params: [I32, I32, I32, I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32, I32, I32, ...Array<typeof V128>(acc.length + bv.length + 2).fill(V128)],
    body: forLoop(i, op.i32(0), op.get(m), 2, forLoop(j, op.i32(0), op.get(n), 16, body)),
  };
}
