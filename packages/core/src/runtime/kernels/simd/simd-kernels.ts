import {
  address,
  type Bytes,
  emitModule,
  F32,
  type FunctionDefinition,
  forLoop,
  I32,
  ifThen,
  op,
  V128,
} from './wasm-emitter.ts';

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
  /** C[m, n] = Aᵀ·B, A [k, m] with row stride lda, B [k, n] with row stride ldb; n a multiple of 16. */
  gemmTransposedA(
    a: number,
    b: number,
    c: number,
    k: number,
    m: number,
    n: number,
    lda: number,
    ldb: number,
  ): void;
  /** One Adam update of n weights: m, v in place, new weights to out. */
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
  ): void;
}

function sumRows(): FunctionDefinition {
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

function maxPoolGrad2x2(): FunctionDefinition {
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

function adam(): FunctionDefinition {
  const [w, g, m, v, out, n, beta1, beta2, correction1, correction2, learningRate, epsilon] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
  ];
  const [i, n4] = [12, 13];
  const [B1, A1, B2, A2, C1, C2, LR, EPS, G, M, V] = [14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24];
  const [gs, ms, vs] = [25, 26, 27];
  const splat = (source: Bytes, target: number): Bytes => [...source, ...op.f32x4Splat, ...op.set(target)];
  const oneMinus = (local: number): Bytes => [...op.f32(1), ...op.get(local), ...op.f32Sub];
  // The same expression for a vector or a scalar lane: load/store/arithmetic opcodes differ.
  const update = (lanes: 'vector' | 'scalar', step: number): Bytes => {
    const vec = lanes === 'vector';
    const [load, store, add, sub, mul, div, sqrt] = vec
      ? [op.v128Load, op.v128Store, op.f32x4Add, op.f32x4Sub, op.f32x4Mul, op.f32x4Div, op.f32x4Sqrt]
      : [op.f32Load, op.f32Store, op.f32Add, op.f32Sub, op.f32Mul, op.f32Div, op.f32Sqrt];
    const [gl, ml, vl] = vec ? [G, M, V] : [gs, ms, vs];
    const constant = (vectorLocal: number, scalar: Bytes): Bytes => (vec ? op.get(vectorLocal) : scalar);
    const b1 = constant(B1, op.get(beta1));
    const a1 = constant(A1, oneMinus(beta1));
    const b2 = constant(B2, op.get(beta2));
    const a2 = constant(A2, oneMinus(beta2));
    const c1 = constant(C1, op.get(correction1));
    const c2 = constant(C2, op.get(correction2));
    const lr = constant(LR, op.get(learningRate));
    const eps = constant(EPS, op.get(epsilon));
    const body: Bytes = [
      ...address(g, i),
      ...load,
      ...op.set(gl),
      // m = β1·m + (1-β1)·g
      ...address(m, i),
      ...b1,
      ...address(m, i),
      ...load,
      ...mul,
      ...a1,
      ...op.get(gl),
      ...mul,
      ...add,
      ...op.tee(ml),
      ...store,
      // v = β2·v + (1-β2)·g²
      ...address(v, i),
      ...b2,
      ...address(v, i),
      ...load,
      ...mul,
      ...a2,
      ...op.get(gl),
      ...op.get(gl),
      ...mul,
      ...mul,
      ...add,
      ...op.tee(vl),
      ...store,
      // out = w - lr·(m/c1) / (√(v/c2) + ε)
      ...address(out, i),
      ...address(w, i),
      ...load,
      ...lr,
      ...op.get(ml),
      ...c1,
      ...div,
      ...mul,
      ...op.get(vl),
      ...c2,
      ...div,
      ...sqrt,
      ...eps,
      ...add,
      ...div,
      ...sub,
      ...store,
    ];
    return vec
      ? forLoop(i, op.i32(0), op.get(n4), step, body)
      : forLoop(i, op.get(n4), op.get(n), step, body);
  };
  return {
    name: 'adam',
    params: [I32, I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32],
    locals: [I32, I32, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128, F32, F32, F32],
    body: [
      ...op.get(n),
      ...op.i32(-4),
      ...op.i32And,
      ...op.set(n4),
      ...splat(op.get(beta1), B1),
      ...splat(oneMinus(beta1), A1),
      ...splat(op.get(beta2), B2),
      ...splat(oneMinus(beta2), A2),
      ...splat(op.get(correction1), C1),
      ...splat(op.get(correction2), C2),
      ...splat(op.get(learningRate), LR),
      ...splat(op.get(epsilon), EPS),
      ...update('vector', 4),
      ...update('scalar', 1),
    ],
  };
}

/**
 * A 3-level strided block of contiguous runs: for (i0, i1, i2) the run of `run` floats at
 * src + i0·ss0 + i1·ss1 + i2·ss2 is copied to (or added into) dst + i0·ds0 + i1·ds1 + i2·ds2 (strides in floats).
 * This is im2col (copy) and col2im (add) one filter tap at a time.
 */
function blockRuns(name: string, accumulate: boolean): FunctionDefinition {
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

/**
 * C[m, n] = Aᵀ·B for A [k, m] and B [k, n] (row strides lda, ldb floats; C dense), n a multiple of 16, without
 * packing either operand: 2x16 register tiles streamed down k. Meant for small m (first-layer filter gradients, where
 * XNNPACK would first pack a B as large as dy).
 */
function gemmTransposedA(): FunctionDefinition {
  const [a, b, c, k, m, n, lda, ldb] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [i, j, kk, pa, pb, pc] = [8, 9, 10, 11, 12, 13];
  const acc = [14, 15, 16, 17, 18, 19, 20, 21];
  const bv = [22, 23, 24, 25];
  const [s0, s1] = [26, 27];
  const zero: Bytes = [...op.f32(0), ...op.f32x4Splat];
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
      ...bv.flatMap((local, q) => [
        ...op.get(acc[q]!),
        ...op.get(s0),
        ...op.get(local),
        ...op.f32x4Mul,
        ...op.f32x4Add,
        ...op.set(acc[q]!),
        ...op.get(acc[q + 4]!),
        ...op.get(s1),
        ...op.get(local),
        ...op.f32x4Mul,
        ...op.f32x4Add,
        ...op.set(acc[q + 4]!),
      ]),
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

interface WasmModuleLike {
  wasmMemory?: { buffer: ArrayBufferLike };
  asm?: { memory?: { buffer: ArrayBufferLike } };
}

/** The WebAssembly JS API (the project's lib settings carry no WebAssembly declarations). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => unknown;
  Instance: new (module: unknown, imports: unknown) => { exports: Record<string, unknown> };
}

const compiled = new WeakMap<object, SimdKernels>();

/** The SIMD kernels bound to a wasm backend module's memory (compiled on first use, then cached). */
export function simdKernelsFor(wasmModule: WasmModuleLike): SimdKernels {
  const cached = compiled.get(wasmModule);
  if (cached) return cached;
  const memory = wasmModule.wasmMemory ?? wasmModule.asm?.memory;
  if (!memory) throw new Error('the wasm backend module exposes no memory');
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const api = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
  const bytes = emitModule(
    [
      sumRows(),
      maxPoolGrad2x2(),
      adam(),
      blockRuns('copyRuns', false),
      blockRuns('addRuns', true),
      gemmTransposedA(),
    ],
    { shared },
  );
  const instance = new api.Instance(new api.Module(bytes), { env: { memory } });
  const kernels = instance.exports as unknown as SimdKernels;
  compiled.set(wasmModule, kernels);
  return kernels;
}
