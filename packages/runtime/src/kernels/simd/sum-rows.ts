import { address, type FunctionDefinition, forLoop, I32, op } from './wasm-emitter.ts';

/** dst[c] = Σ_r src[r·width + c]: bias gradients. */
export function sumRows(): FunctionDefinition {
  const [src, rows, width, dst, r, c, row, width4] = [0, 1, 2, 3, 4, 5, 6, 7];
  return {
    name: 'sumRows',
    params: [I32, I32, I32, I32],
    locals: [I32, I32, I32, I32],
    body: [
      ...op.get(dst),
      ...op.i32(0),
      ...op.get(width),
      ...op.i32(2),
      ...op.i32Shl,
      ...op.memoryFill,
      ...op.get(width),
      ...op.i32(-4),
      ...op.i32And,
      ...op.set(width4),
      ...forLoop(r, op.i32(0), op.get(rows), 1, [
        ...op.get(src),
        ...op.get(r),
        ...op.get(width),
        ...op.i32Mul,
        ...op.i32(2),
        ...op.i32Shl,
        ...op.i32Add,
        ...op.set(row),
        ...forLoop(c, op.i32(0), op.get(width4), 4, [
          ...address(dst, c),
          ...address(dst, c),
          ...op.v128Load,
          ...address(row, c),
          ...op.v128Load,
          ...op.f32x4Add,
          ...op.v128Store,
        ]),
        ...forLoop(c, op.get(width4), op.get(width), 1, [
          ...address(dst, c),
          ...address(dst, c),
          ...op.f32Load,
          ...address(row, c),
          ...op.f32Load,
          ...op.f32Add,
          ...op.f32Store,
        ]),
      ]),
    ],
  };
}
