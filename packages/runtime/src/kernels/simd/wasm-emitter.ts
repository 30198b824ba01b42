/**
 * A minimal WebAssembly binary writer for the few SIMD loops our kernels need (no toolchain is available to the
 * project at run time, and tfjs's wasm binary cannot be extended). Functions are written as byte sequences built
 * from the helpers below; the module imports the wasm backend's memory so that the loops work on tensors in place.
 */

export type Bytes = number[];
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
type ValueType = typeof I32 | typeof F32 | typeof V128;

export function uleb(value: number): Bytes {
  const out: Bytes = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

export function sleb(value: number): Bytes {
  const out: Bytes = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const simd = (opcode: number): Bytes => [0xfd, ...uleb(opcode)];
/** memarg: alignment exponent 2 (4 bytes, always true for float32 tensors) and no offset. */
const MEMARG = [2, 0];

/** Instructions, named after the text format. */
export const op = {
  get: (local: number): Bytes => [0x20, ...uleb(local)],
  set: (local: number): Bytes => [0x21, ...uleb(local)],
  tee: (local: number): Bytes => [0x22, ...uleb(local)],
  i32: (value: number): Bytes => [0x41, ...sleb(value)],
  f32: (value: number): Bytes => {
    const bytes = new Uint8Array(new Float32Array([value]).buffer);
    return [0x43, ...bytes];
  },
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32And: [0x71],
  i32Shl: [0x74],
  i32LtS: [0x48],
  i32Ne: [0x47],
  i32GeS: [0x4e],
  i32Eqz: [0x45],
  /** select(a, b, condition): a when condition is non-zero, else b. */
  select: [0x1b],
  f32Load: [0x2a, ...MEMARG],
  f32Store: [0x38, ...MEMARG],
  f32Add: [0x92],
  f32Sub: [0x93],
  f32Mul: [0x94],
  f32Div: [0x95],
  f32Sqrt: [0x91],
  v128Load: [...simd(0x00), ...MEMARG],
  v128Store: [...simd(0x0b), ...MEMARG],
  v128And: simd(0x4e),
  v128AndNot: simd(0x4f),
  v128Or: simd(0x50),
  v128Bitselect: simd(0x52),
  f32x4Splat: simd(0x13),
  f32x4Gt: simd(0x44),
  f32x4Sqrt: simd(0xe3),
  f32x4Add: simd(0xe4),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  f32x4Div: simd(0xe7),
  /**
   * f32x4.relaxed_madd(a, b, c) = a·b + c from the relaxed-SIMD proposal: one fused multiply-add where the CPU has
   * FMA (the result may be rounded once or twice, by platform). Only in modules compiled where it validates.
   */
  f32x4RelaxedMadd: simd(0x105),
  /** memory.fill(dest, byte, length) from the bulk-memory proposal (shipped with SIMD in every engine). */
  memoryFill: [0xfc, ...uleb(11), 0x00],
  /** memory.copy(dest, source, length). */
  memoryCopy: [0xfc, ...uleb(10), 0x00, 0x00],
};

/** if (condition) body */
export const ifThen = (condition: Bytes, body: Bytes): Bytes => [...condition, 0x04, 0x40, ...body, 0x0b];

/** byte address of float element `index` (a local) past `base` (a local): base + index * 4. */
export const address = (base: number, index: number): Bytes => [
  ...op.get(base),
  ...op.get(index),
  ...op.i32(2),
  ...op.i32Shl,
  ...op.i32Add,
];

/**
 * for (i = start; i < end; i += step) body — `start`, `end` are instruction sequences, `i` a local.
 * Written as block/loop with the test first, so an empty range runs nothing.
 */
export function forLoop(i: number, start: Bytes, end: Bytes, step: number, body: Bytes): Bytes {
  return [
    ...start,
    ...op.set(i),
    0x02,
    0x40, // block
    ...op.get(i),
    ...end,
    ...op.i32GeS,
    0x0d,
    0x00, // br_if 0: nothing to do
    0x03,
    0x40, // loop
    ...body,
    ...op.get(i),
    ...op.i32(step),
    ...op.i32Add,
    ...op.tee(i),
    ...end,
    ...op.i32LtS,
    0x0d,
    0x00, // br_if 0: next iteration
    0x0b, // end loop
    0x0b, // end block
  ];
}

export interface FunctionDefinition {
  name: string;
  params: ValueType[];
  locals: ValueType[];
  body: Bytes;
}

function vector(items: Bytes[]): Bytes {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, content: Bytes): Bytes {
  return [id, ...uleb(content.length), ...content];
}

function name(text: string): Bytes {
  const bytes = [...new TextEncoder().encode(text)];
  return [...uleb(bytes.length), ...bytes];
}

/** A module of void functions over an imported memory `env.memory` (shared memories need a maximum). */
export function emitModule(functions: FunctionDefinition[], memory: { shared: boolean }): Uint8Array {
  const types = functions.map((f) => [0x60, ...vector(f.params.map((t) => [t])), 0x00]);
  // Shared: flags 3 (max + shared), min 1 page, max 65536 pages (4 GiB) as Emscripten declares it.
  const limits = memory.shared ? [0x03, ...uleb(1), ...uleb(65536)] : [0x00, ...uleb(1)];
  const imports = vector([[...name('env'), ...name('memory'), 0x02, ...limits]]);
  const declarations = vector(functions.map((_, i) => uleb(i)));
  const exports = vector(functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]));
  const bodies = vector(
    functions.map((f) => {
      const locals = vector(f.locals.map((t) => [...uleb(1), t]));
      const code = [...locals, ...f.body, 0x0b];
      return [...uleb(code.length), ...code];
    }),
  );
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vector(types)),
    ...section(2, imports),
    ...section(3, declarations),
    ...section(7, exports),
    ...section(10, bodies),
  ]);
}
