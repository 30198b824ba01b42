import { address, type Bytes, type FunctionDefinition, forLoop, I32, op } from './wasm-emitter.ts';

/**
 * A 3-level strided block of contiguous runs: for (i0, i1, i2) the run of `run` floats at
 * src + i0·ss0 + i1·ss1 + i2·ss2 is copied to (or added into) dst + i0·ds0 + i1·ds1 + i2·ds2 (strides in floats).
 * This is im2col (copy) and col2im (add) one filter tap at a time.
 */
export function blockRuns(name: string, accumulate: boolean): FunctionDefinition {
  const [src, dst, n0, ss0, ds0, n1, ss1, ds1, n2, ss2, ds2, run] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const [i0, i1, i2, s, d, c, run4] = [12, 13, 14, 15, 16, 17, 18];
  // s = src + 4·(i0·ss0 + i1·ss1 + i2·ss2), d likewise
  const pointer = (base: number, strides: [number, number, number]): Bytes => [
    ...op.get(base),
    ...op.get(i0),
    ...op.get(strides[0]),
    ...op.i32Mul,
    ...op.get(i1),
    ...op.get(strides[1]),
    ...op.i32Mul,
    ...op.i32Add,
    ...op.get(i2),
    ...op.get(strides[2]),
    ...op.i32Mul,
    ...op.i32Add,
    ...op.i32(2),
    ...op.i32Shl,
    ...op.i32Add,
  ];
  const move = (load: Bytes, store: Bytes, add: Bytes): Bytes => [
    ...address(d, c),
    ...(accumulate ? [...address(d, c), ...load] : []),
    ...address(s, c),
    ...load,
    ...(accumulate ? add : []),
    ...store,
  ];
  return {
    name,
    params: [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32, I32, I32, I32],
    body: [
      ...op.get(run),
      ...op.i32(-4),
      ...op.i32And,
      ...op.set(run4),
      ...forLoop(i0, op.i32(0), op.get(n0), 1, [
        ...forLoop(i1, op.i32(0), op.get(n1), 1, [
          ...forLoop(i2, op.i32(0), op.get(n2), 1, [
            ...pointer(src, [ss0, ss1, ss2]),
            ...op.set(s),
            ...pointer(dst, [ds0, ds1, ds2]),
            ...op.set(d),
            ...forLoop(c, op.i32(0), op.get(run4), 4, move(op.v128Load, op.v128Store, op.f32x4Add)),
            ...forLoop(c, op.get(run4), op.get(run), 1, move(op.f32Load, op.f32Store, op.f32Add)),
          ]),
        ]),
      ]),
    ],
  };
}
