/**
 * `node --import tsx packages/runtime/src/kernels/kernel-speed-cli.ts [--threads N] [--rounds R] [--only gemm|conv|batch-norm]`: times the
 * formulations our wasm kernels choose between, in interleaved rounds, on the shapes training meets:
 *  - the SIMD GEMM with f32x4.mul + add or f32x4.relaxed_madd, in one pass over k or in blocks of rows;
 *  - the conv filter gradient as patch-rows (our GEMM) or patch-columns (XNNPACK, which packs dy first);
 *  - the forward convolution as XNNPACK or patch-rows;
 *  - a training step of a ResNet block with tfjs-core's batch-norm gradient or our broadcasting one.
 * Every call gets new operand tensors, as every training step does (XNNPACK caches packed operands per tensor).
 * Prints median and min-max per variant and the load average at start and end; on 1 thread the time is the
 * process's CPU time (less disturbed by other processes), on more threads wall time. A measurement, not a test.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { registerGradientOverrides, restoreStockGradients } from './batch-norm-grad.ts';
import { forceConvolutionMethod } from './conv2d.ts';
import { forceFilterGradientMethod } from './conv2d-backprop-filter.ts';
import { seededValues } from './gradient-check.ts';
import { registerWasmTrainingKernels } from './index.ts';
import { GEMM_BLOCK_ROWS, type GemmOptions } from './simd/gemm.ts';
import { relaxedSimdSupported } from './simd/relaxed-simd.ts';
import { compileSimdKernels } from './simd/simd-kernels.ts';
import { configureWasmBackend } from './wasm-threads.ts';

const { values } = parseArgs({
  options: { threads: { type: 'string' }, rounds: { type: 'string' }, only: { type: 'string' } },
});
const threads = Number(values.threads ?? 1);
const rounds = Number(values.rounds ?? 7);
const runs = (section: string) => values.only === undefined || values.only === section;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** Milliseconds per call of each variant over interleaved rounds; `prepare` runs untimed before each call. */
function compare<T>(
  variants: Array<{ name: string; run: (input: T) => void }>,
  prepare: () => T,
  calls = 5,
): void {
  for (const v of variants) v.run(prepare()); // warm-up: compile, tier up
  const times = variants.map(() => [] as number[]);
  for (let round = 0; round < rounds; round += 1) {
    for (const [i, v] of variants.entries()) {
      let total = 0;
      for (let c = 0; c < calls; c += 1) {
        const input = prepare();
        const [cpu, wall] = [process.cpuUsage(), performance.now()];
        v.run(input);
        const used = process.cpuUsage(cpu);
        total += threads === 1 ? (used.user + used.system) / 1000 : performance.now() - wall;
        if (input instanceof tf.Tensor || Array.isArray(input)) tf.dispose(input as tf.Tensor);
      }
      times[i]!.push(total / calls);
    }
  }
  const median = (t: number[]) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)]!;
  for (const [i, v] of variants.entries()) {
    const t = times[i]!;
    console.log(
      `  ${v.name.padEnd(34)} ${median(t).toFixed(2).padStart(7)} ms (${Math.min(...t).toFixed(2)}-${Math.max(...t).toFixed(2)})  ${(median(times[0]!) / median(t)).toFixed(2)}x`,
    );
  }
}

await configureWasmBackend({ threads });
registerWasmTrainingKernels();
await tf.setBackend('wasm');
const fma = relaxedSimdSupported();
console.log(
  `node ${process.version}, wasm ${threads} thread(s), ${rounds} rounds, ${threads === 1 ? 'CPU' : 'wall'} time; relaxed SIMD ${fma ? 'yes' : 'no'}`,
);
console.log(`load average at start: ${load()}`);

if (runs('gemm')) {
  console.log('\nSIMD GEMM C = Aᵀ·B, first-layer filter gradient at batch 64 (k=43264, m=9, n=32)');
  const [k, m, n] = [43_264, 9, 32];
  const memory = new (
    globalThis as unknown as {
      WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } };
    }
  ).WebAssembly.Memory({
    initial: Math.ceil((4 * (k * m + k * n + m * n)) / 65536) + 1,
  });
  const heap = new Float32Array(memory.buffer);
  heap.set(seededValues(k * m, 1), 0);
  heap.set(seededValues(k * n, 2), k * m);
  const options: GemmOptions[] = [
    { fusedMultiplyAdd: false, blockRows: 0 },
    { fusedMultiplyAdd: false, blockRows: GEMM_BLOCK_ROWS },
    ...(fma ? [0, GEMM_BLOCK_ROWS].map((blockRows) => ({ fusedMultiplyAdd: true, blockRows })) : []),
  ];
  compare(
    options.map((o) => {
      const kernels = compileSimdKernels(memory, o);
      return {
        name: `${o.fusedMultiplyAdd ? 'relaxed_madd' : 'mul + add'}, ${o.blockRows ? `blocks of ${o.blockRows}` : 'one pass'}`,
        run: () => kernels.gemm(0, 4 * k * m, 4 * (k * m + k * n), k, m, n, m, 1, n),
      };
    }),
    () => undefined,
  );
}

const CONVOLUTIONS = [
  { x: [64, 28, 28, 1], f: [3, 3, 1, 32] },
  { x: [64, 13, 13, 32], f: [3, 3, 32, 64] },
  { x: [64, 16, 16, 64], f: [3, 3, 64, 64] },
] as const;
for (const c of runs('conv') ? CONVOLUTIONS : []) {
  const x = tf.randomNormal([...c.x]) as tf.Tensor4D;
  const f = tf.randomNormal([...c.f]) as tf.Tensor4D;
  const dy = tf.randomNormal([c.x[0], c.x[1] - 2, c.x[2] - 2, c.f[3]]);
  console.log(`\nconv filter gradient, x=[${c.x}] f=[${c.f}] (new dy per call)`);
  compare(
    (['patch-rows', 'patch-columns'] as const).map((method) => ({
      name: method,
      run: (d: tf.Tensor) => {
        forceFilterGradientMethod(method);
        const attrs = { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: c.f };
        (tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: d }, attrs) as tf.Tensor).dispose();
      },
    })),
    () => tf.mul(dy, 1),
  );
  console.log(`conv forward, x=[${c.x}] f=[${c.f}] (new filter per call)`);
  compare(
    (['xnnpack', 'patch-rows'] as const).map((method) => ({
      name: method,
      run: (filter: tf.Tensor) => {
        forceConvolutionMethod(method);
        tf.conv2d(x, filter as tf.Tensor4D, 1, 'valid').dispose();
      },
    })),
    () => tf.mul(f, 1),
  );
  tf.dispose([x, f, dy]);
}
forceFilterGradientMethod(undefined);
forceConvolutionMethod(undefined);

if (runs('batch-norm')) {
  // conv-BN-ReLU-conv-BN + shortcut, ReLU: the basic block of the model package's ResNet, at MNIST's size.
  const input = tfl.input({ shape: [28, 28, 16] });
  const convBn = (x: tfl.SymbolicTensor) =>
    tfl.layers
      .batchNormalization()
      .apply(
        tfl.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', useBias: false }).apply(x),
      ) as tfl.SymbolicTensor;
  const inner = tfl.layers.reLU().apply(convBn(input)) as tfl.SymbolicTensor;
  const output = tfl.layers.reLU().apply(tfl.layers.add().apply([convBn(inner), input]));
  const block = tfl.model({ inputs: input, outputs: output as tfl.SymbolicTensor });
  const variables = block.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const x = tf.randomNormal([64, 28, 28, 16]);
  console.log(
    '\nResNet basic block training step, x=[64,28,28,16], 16 filters (loss + gradients, no update)',
  );
  compare(
    (['stock', 'broadcasting'] as const).map((gradient) => ({
      name: `${gradient} batch-norm gradient`,
      run: () => {
        if (gradient === 'stock') restoreStockGradients();
        else registerGradientOverrides();
        const { value, grads } = tf.variableGrads(
          () => tf.mean(tf.square(block.apply(x, { training: true }) as tf.Tensor)),
          variables,
        );
        tf.dispose([value, ...Object.values(grads)]);
      },
    })),
    () => undefined,
  );
  registerGradientOverrides();
  x.dispose();
}
console.log(`\nload average at end: ${load()}`);
