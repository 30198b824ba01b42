import { describe, expect, it } from 'vitest';
import { emitModule, forLoop, I32, op, sleb, uleb } from './wasm-emitter.ts';

interface WebAssemblyApi {
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => unknown;
  Instance: new (module: unknown, imports: unknown) => { exports: Record<string, unknown> };
}

describe('wasm emitter', () => {
  it('encodes LEB128 as the spec examples', () => {
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(uleb(0)).toEqual([0]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
  });

  it('emits a module that validates and runs over an imported memory', () => {
    // fill(dst, n): dst[i] = i for i < n, through forLoop, address arithmetic and f32 stores.
    const [dst, n, i] = [0, 1, 2];
    const body = forLoop(i, op.i32(0), op.get(n), 1, [
      ...op.get(dst),
      ...op.get(i),
      ...op.i32(2),
      ...op.i32Shl,
      ...op.i32Add,
      ...op.get(i),
      0xb2, // f32.convert_i32_s
      ...op.f32Store,
    ]);
    const bytes = emitModule([{ name: 'fill', params: [I32, I32], locals: [I32], body }], { shared: false });
    // The project's lib settings carry no WebAssembly declarations, so the test names the calls it makes.
    const api = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
    const memory = new api.Memory({ initial: 1 });
    const instance = new api.Instance(new api.Module(bytes), { env: { memory } });
    (instance.exports.fill as (d: number, n: number) => void)(16, 5);
    expect([...new Float32Array(memory.buffer, 16, 6)]).toEqual([0, 1, 2, 3, 4, 0]);
  });
});
