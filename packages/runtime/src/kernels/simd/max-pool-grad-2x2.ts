import { type Bytes, type FunctionDefinition, forLoop, I32, op, V128 } from './wasm-emitter.ts';

/**
 * Max-pool gradient for disjoint 2x2 windows, four channels per SIMD vector: each dy value goes to the first maximum
 * of its window in row-major order (NaN and -Infinity never win), as the cpu backend routes it.
 */
export function maxPoolGrad2x2(): FunctionDefinition {
  // params
  const [x, dy, dx, batch, inHeight, inWidth, channels, outHeight, outWidth] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  // i32 locals
  const [b, oh, ow, ch, channelBytes, rowBytes, xRow, dxRow, dyRow, px, pd, pg] = [
    9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
  ];
  // v128 locals
  const [v00, v01, v10, v11, best, g0, g1, g2, g3, grad, minusInfinity] = [
    21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
  ];
  const load = (pointer: number, offset: Bytes): Bytes => [
    ...op.get(pointer),
    ...op.get(ch),
    ...op.i32Add,
    ...offset,
    ...op.v128Load,
  ];
  const plus = (local: number): Bytes => [...op.get(local), ...op.i32Add];
  const store = (pointer: number, offset: Bytes, mask: Bytes): Bytes => [
    ...op.get(pointer),
    ...op.get(ch),
    ...op.i32Add,
    ...offset,
    ...op.get(grad),
    ...mask,
    ...op.v128And,
    ...op.v128Store,
  ];
  const greater = (value: number, flag: number): Bytes => [
    ...op.get(value),
    ...op.get(best),
    ...op.f32x4Gt,
    ...op.tee(flag),
    ...op.get(value),
    ...op.get(best),
    ...op.get(flag),
    ...op.v128Bitselect,
    ...op.set(best),
    0x1a, // drop the flag left by tee
  ];
  // image rows are 2·oh and 2·oh + 1 of batch b: byte offset ((b·inH + 2·oh)·inW)·channelBytes
  const rowOffset = (height: Bytes, rowIndex: Bytes, width: number): Bytes => [
    ...op.get(b),
    ...height,
    ...op.i32Mul,
    ...rowIndex,
    ...op.i32Add,
    ...op.get(width),
    ...op.i32Mul,
    ...op.get(channelBytes),
    ...op.i32Mul,
  ];
  return {
    name: 'maxPoolGrad2x2',
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
      I32,
      I32,
      I32,
      I32,
      V128,
      V128,
      V128,
      V128,
      V128,
      V128,
      V128,
      V128,
      V128,
      V128,
      V128,
    ],
    body: [
      ...op.get(channels),
      ...op.i32(2),
      ...op.i32Shl,
      ...op.set(channelBytes),
      ...op.get(inWidth),
      ...op.get(channelBytes),
      ...op.i32Mul,
      ...op.set(rowBytes),
      // dx = 0 (rows and columns past the last whole window keep it)
      ...op.get(dx),
      ...op.i32(0),
      ...op.get(batch),
      ...op.get(inHeight),
      ...op.i32Mul,
      ...op.get(rowBytes),
      ...op.i32Mul,
      ...op.memoryFill,
      ...op.f32(Number.NEGATIVE_INFINITY),
      ...op.f32x4Splat,
      ...op.set(minusInfinity),
      ...forLoop(b, op.i32(0), op.get(batch), 1, [
        ...forLoop(oh, op.i32(0), op.get(outHeight), 1, [
          ...op.get(x),
          ...rowOffset(op.get(inHeight), [...op.get(oh), ...op.i32(1), ...op.i32Shl], inWidth),
          ...op.i32Add,
          ...op.set(xRow),
          ...op.get(dx),
          ...rowOffset(op.get(inHeight), [...op.get(oh), ...op.i32(1), ...op.i32Shl], inWidth),
          ...op.i32Add,
          ...op.set(dxRow),
          ...op.get(dy),
          ...rowOffset(op.get(outHeight), op.get(oh), outWidth),
          ...op.i32Add,
          ...op.set(dyRow),
          ...forLoop(ow, op.i32(0), op.get(outWidth), 1, [
            // px = xRow + 2·ow·channelBytes, pd likewise in dx, pg = dyRow + ow·channelBytes
            ...op.get(ow),
            ...op.get(channelBytes),
            ...op.i32Mul,
            ...op.set(pg),
            ...op.get(xRow),
            ...op.get(pg),
            ...op.i32(1),
            ...op.i32Shl,
            ...op.i32Add,
            ...op.set(px),
            ...op.get(dxRow),
            ...op.get(pg),
            ...op.i32(1),
            ...op.i32Shl,
            ...op.i32Add,
            ...op.set(pd),
            ...op.get(dyRow),
            ...op.get(pg),
            ...op.i32Add,
            ...op.set(pg),
            ...forLoop(ch, op.i32(0), op.get(channelBytes), 16, [
              ...load(px, []),
              ...op.set(v00),
              ...load(px, plus(channelBytes)),
              ...op.set(v01),
              ...load(px, plus(rowBytes)),
              ...op.set(v10),
              ...load(px, [...plus(rowBytes), ...plus(channelBytes)]),
              ...op.set(v11),
              ...load(pg, []),
              ...op.set(grad),
              // g0: the first position beats -Infinity (false for NaN and -Infinity)
              ...op.get(v00),
              ...op.get(minusInfinity),
              ...op.f32x4Gt,
              ...op.tee(g0),
              ...op.get(v00),
              ...op.get(minusInfinity),
              ...op.get(g0),
              ...op.v128Bitselect,
              ...op.set(best),
              0x1a,
              ...greater(v01, g1),
              ...greater(v10, g2),
              // g3 = v11 > best; no need to update best after the last position
              ...op.get(v11),
              ...op.get(best),
              ...op.f32x4Gt,
              ...op.set(g3),
              // winners: position k wins if it beat everything before it and nothing after it beat it
              ...store(
                pd,
                [],
                [
                  ...op.get(g0),
                  ...op.get(g1),
                  ...op.v128AndNot,
                  ...op.get(g2),
                  ...op.v128AndNot,
                  ...op.get(g3),
                  ...op.v128AndNot,
                ],
              ),
              ...store(pd, plus(channelBytes), [
                ...op.get(g1),
                ...op.get(g2),
                ...op.v128AndNot,
                ...op.get(g3),
                ...op.v128AndNot,
              ]),
              ...store(pd, plus(rowBytes), [...op.get(g2), ...op.get(g3), ...op.v128AndNot]),
              ...store(pd, [...plus(rowBytes), ...plus(channelBytes)], op.get(g3)),
            ]),
          ]),
        ]),
      ]),
    ],
  };
}
