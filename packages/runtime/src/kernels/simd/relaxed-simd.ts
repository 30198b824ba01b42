import { setFlagsFromString } from 'node:v8';
import { emitModule, op, V128 } from './wasm-emitter.ts';

/** The part of the WebAssembly JS API used here (the project's lib settings carry no WebAssembly declarations). */
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
}

let supported: boolean | undefined;

/**
 * Whether this runtime compiles `f32x4.relaxed_madd` (relaxed SIMD). WebAssembly SIMD128 itself has no fused
 * multiply-add, which halves the multiply-add rate of a GEMM next to native FMA code. Node 22+ (V8 11.4+) ships
 * relaxed SIMD; Node 20 has it behind `--experimental-wasm-relaxed-simd`, which V8 honours when set before a module
 * is compiled, so the flag is set here the first time the question is asked (it only makes more opcodes valid).
 * Checked once per process by validating a one-instruction module.
 */
export function relaxedSimdSupported(): boolean {
  if (supported !== undefined) return supported;
  const api = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
  // (func (local v128 v128 v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd drop)
  const probe = emitModule(
    [
      {
        name: 'probe',
        params: [],
        locals: [V128, V128, V128],
        body: [...op.get(0), ...op.get(1), ...op.get(2), ...op.f32x4RelaxedMadd, 0x1a],
      },
    ],
    { shared: false },
  );
  if (!api.validate(probe)) {
    try {
      setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      // an engine without the flag: the plain SIMD kernels are used
    }
  }
  supported = api.validate(probe);
  return supported;
}
