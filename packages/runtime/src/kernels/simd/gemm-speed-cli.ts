/**
 * `node --import tsx packages/runtime/src/kernels/simd/gemm-speed-cli.ts [rounds]`: times the SIMD GEMM
 * (C = Aᵀ·B, the patch-rows filter gradient) with f32x4.mul + f32x4.add and with f32x4.relaxed_madd, in one pass
 * over k and in blocks of rows, in interleaved rounds, on the shapes training meets. Prints the median and min-max
 * per variant, the speed-up over the first (the kernel before this change), the largest difference from it, and the
 * load average at start and end. A measurement, not a test.
 */
import { loadavg } from 'node:os';
import { seededValues } from '../gradient-check.ts';
import { GEMM_BLOCK_ROWS, type GemmOptions } from './gemm.ts';
import { relaxedSimdSupported } from './relaxed-simd.ts';
import { compileSimdKernels } from './simd-kernels.ts';

interface MemoryApi {
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
}
const api = (globalThis as unknown as { WebAssembly: MemoryApi }).WebAssembly;

const SHAPES = [
  // reference CNN, first conv (3x3x1 -> 32) at batch 64: k = 64·26·26
  { label: 'CNN conv1 dW, batch 64', k: 43_264, m: 9, n: 32 },
  // a 3-channel first layer (3x3x3 -> 32) on 32x32 images at batch 64
  { label: '3x3x3x32 dW, 32x32, batch 64', k: 57_600, m: 27, n: 32 },
];
const rounds = Number(process.argv[2] ?? 7);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const fma = relaxedSimdSupported();
console.log(
  `node ${process.version}; relaxed SIMD ${fma ? 'available' : 'NOT available (FMA variant skipped)'}`,
);
console.log(`load average at start: ${load()}`);
const variants: GemmOptions[] = [
  { fusedMultiplyAdd: false, blockRows: 0 },
  { fusedMultiplyAdd: false, blockRows: GEMM_BLOCK_ROWS },
  ...(fma ? [0, 128, GEMM_BLOCK_ROWS, 1024].map((blockRows) => ({ fusedMultiplyAdd: true, blockRows })) : []),
];
const name = (v: GemmOptions) =>
  `${v.fusedMultiplyAdd ? 'relaxed_madd' : 'mul + add'}, ${v.blockRows ? `blocks of ${v.blockRows}` : 'one pass'}`;

for (const shape of SHAPES) {
  const { k, m, n } = shape;
  const bytes = 4 * (k * m + k * n + m * n + 64);
  const memory = new api.Memory({ initial: Math.ceil(bytes / 65536) + 1 });
  const heap = new Float32Array(memory.buffer);
  const [a, b, c] = [0, k * m, k * m + k * n];
  heap.set(seededValues(k * m, 1), a);
  heap.set(seededValues(k * n, 2), b);
  const kernels = variants.map((variant) => compileSimdKernels(memory, variant));
  const run = (i: number) => kernels[i]!.gemmTransposedA(4 * a, 4 * b, 4 * c, k, m, n, m, n);
  const results = variants.map((_, i) => {
    run(i);
    return heap.slice(c, c + m * n);
  });
  const times: number[][] = variants.map(() => []);
  const repeats = Math.max(5, Math.round(2e8 / (k * m * n)));
  for (let round = 0; round < rounds; round += 1) {
    for (const i of variants.keys()) {
      const started = performance.now();
      for (let r = 0; r < repeats; r += 1) run(i);
      times[i]!.push((performance.now() - started) / repeats);
    }
  }
  console.log(`\n${shape.label}: k=${k} m=${m} n=${n}, ${repeats} calls x ${rounds} interleaved rounds`);
  const medians = times.map((t) => [...t].sort((x, y) => x - y)[Math.floor(t.length / 2)]!);
  variants.forEach((variant, i) => {
    const t = times[i]!;
    const gflops = (2 * k * m * n) / (medians[i]! * 1e6);
    let difference = 0;
    let largest = 0;
    results[0]!.forEach((v, j) => {
      difference = Math.max(difference, Math.abs(v - results[i]![j]!));
      largest = Math.max(largest, Math.abs(v));
    });
    const overlap =
      i > 0 && Math.min(...times[0]!) <= Math.max(...t) && Math.min(...t) <= Math.max(...times[0]!);
    console.log(
      `  ${name(variant).padEnd(30)} median ${medians[i]!.toFixed(3)} ms (${Math.min(...t).toFixed(3)}-${Math.max(...t).toFixed(3)}), ${gflops.toFixed(1)} GFLOP/s, ${(medians[0]! / medians[i]!).toFixed(2)}x${overlap ? ' (ranges overlap)' : ''}, max diff ${(difference / largest).toExponential(1)}`,
    );
  });
}
console.log(`\nload average at end: ${load()}`);
