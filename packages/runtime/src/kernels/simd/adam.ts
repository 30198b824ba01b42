import { address, type Bytes, F32, type FunctionDefinition, forLoop, I32, op, V128 } from './wasm-emitter.ts';

/**
 * One Adam step over n weights, four per SIMD vector then a scalar tail; the same expression as tf.train.adam, with
 * the old weight scaled by `decay` (1 − lr·weightDecay for AdamW; exactly 1, a no-op, for Adam).
 */
export function adam(): FunctionDefinition {
  const [w, g, m, v, out, n, beta1, beta2, correction1, correction2, learningRate, epsilon, decay] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
  ];
  const [i, n4] = [13, 14];
  const [B1, A1, B2, A2, C1, C2, LR, EPS, G, M, V, D] = [15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26];
  const [gs, ms, vs] = [27, 28, 29];
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
    const dec = constant(D, op.get(decay));
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
      // out = w·decay - lr·(m/c1) / (√(v/c2) + ε)
      ...address(out, i),
      ...address(w, i),
      ...load,
      ...dec,
      ...mul,
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
    params: [I32, I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32, F32],
    locals: [I32, I32, ...Array<typeof V128>(12).fill(V128), F32, F32, F32],
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
      ...splat(op.get(decay), D),
      ...update('vector', 4),
      ...update('scalar', 1),
    ],
  };
}
