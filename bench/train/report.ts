import { markdownTable } from '../lib/report.ts';
import type { TrainBenchResult } from './measure.ts';

export interface ReportInput {
  results: TrainBenchResult[];
  unavailable: string[];
  machine: string;
  noise: string;
  /** Per-kernel milliseconds of one training step on the best wasm configuration, largest first. */
  profile?: { label: string; stepMs: number; rows: Array<[string, number]> };
}

const ratio = (value: number, base: number | undefined) => (base ? `${(value / base).toFixed(2)}x` : 'n/a');

/** The stdout table and the README section (table, targets, where the time goes). */
export function renderReport({ results, unavailable, machine, noise, profile }: ReportInput): {
  table: string;
  markdown: string;
} {
  const torch = results.find((r) => r.engine.startsWith('pytorch'));
  const table = markdownTable(
    [
      'engine',
      'train img/s',
      'vs torch',
      'batch-256 infer img/s',
      'vs torch',
      'latency p50 ms',
      'latency p99 ms',
    ],
    results.map((r) => [
      r.engine,
      r.trainImagesPerSecond.toFixed(0),
      ratio(r.trainImagesPerSecond, torch?.trainImagesPerSecond),
      r.inferImagesPerSecond.toFixed(0),
      ratio(r.inferImagesPerSecond, torch?.inferImagesPerSecond),
      r.latencyP50Ms.toFixed(2),
      r.latencyP99Ms.toFixed(2),
    ]),
  );
  const wasm = results.filter((r) => r.engine.startsWith('tfjs wasm'));
  const best = (key: keyof Omit<TrainBenchResult, 'engine'>, lowest = false) =>
    wasm.reduce<TrainBenchResult | undefined>(
      (a, r) => (!a || (lowest ? r[key] < a[key] : r[key] > a[key]) ? r : a),
      undefined,
    );
  const lines: string[] = [];
  const train = best('trainImagesPerSecond');
  const infer = best('inferImagesPerSecond');
  const latency = best('latencyP50Ms', true);
  if (torch && train && infer && latency) {
    lines.push(
      `- training: best wasm **${ratio(train.trainImagesPerSecond, torch.trainImagesPerSecond)}** PyTorch (target >= 1.0x) — ${train.engine}`,
      `- batch inference: best wasm **${ratio(infer.inferImagesPerSecond, torch.inferImagesPerSecond)}** PyTorch (target >= 1.5x) — ${infer.engine}`,
      `- single-image latency p50: best wasm **${latency.latencyP50Ms.toFixed(2)} ms** vs PyTorch ${torch.latencyP50Ms.toFixed(2)} ms (target <=) — ${latency.engine}`,
    );
  }
  const profileTable = profile
    ? `\n\nWhere one training step's time goes (${profile.label}, ${profile.stepMs.toFixed(1)} ms per profiled step, tf.profile; kernels our kernels call are counted in their caller):\n\n${markdownTable(
        ['kernel', 'ms per step'],
        profile.rows.map(([name, ms]) => [name, ms.toFixed(1)]),
      )}`
    : '';
  const markdown = [
    '## Training: reference CNN (`pnpm bench train`)',
    '',
    `Conv 3x3x32 valid + ReLU, maxpool 2, conv 3x3x64 valid + ReLU, maxpool 2, dense 128 + ReLU, dense 10; float32, batch 64, Adam (lr 1e-3), 28x28x1 synthetic input, loss read back every step. Batch inference: one batch of 256. Latency: one image, result read back. Measured ${new Date().toISOString().slice(0, 10)} on ${machine}; ${noise}. PyTorch runs with torch.set_num_threads(2).`,
    '',
    table,
    '',
    ...lines,
    ...unavailable.map((u) => `- unavailable: ${u}`),
    profileTable,
    '',
    ANALYSIS,
  ].join('\n');
  return { table, markdown };
}

/** What the wasm numbers rest on and what would move them; kept next to the code that measures them. */
const ANALYSIS = `### What makes wasm train, and fast

- \`registerWasmTrainingKernels()\` adds what tfjs-backend-wasm 4.22 lacks and replaces what it runs slowly: Conv2DBackpropFilter as a patch-matrix product (im2col by a SIMD block copy per filter tap, then XNNPACK; for first layers with < 32 filter taps our own unpacked SIMD GEMM), Conv2DBackpropInput as dy·Wᵀ then a SIMD col2im, MaxPoolGrad (SIMD for 2x2/2), Sum over leading axes (bias gradients; the stock kernel transposes first), BatchMatMul computing C or Cᵀ by whichever needs less XNNPACK packing with transposes made explicit, Identity and same-dtype Cast as reference-counted aliases instead of copies; depthwise-conv gradients and UnsortedSegmentSum on the cpu implementation.
- The SIMD loops come from a small WebAssembly module the runtime writes itself over the wasm heap (there is no toolchain at run time); JS loops over the heap measured 3-16 ns per value on this machine, the SIMD module 0.3-1.
- \`configureWasmBackend({ threads: 2 })\` loads tfjs's threaded SIMD build in Node (stock tfjs keeps threads off in Node and would cap the pool at cores/2 = 1 here), so XNNPACK's convolutions, matmuls, pooling and element-wise kernels use both cores.
- \`createTrainStep\` + \`FusedAdam\` skip \`minimize\`'s bookkeeping and do Adam in one SIMD pass per variable instead of ~14 kernels.

### Where the rest goes, and what would close it

- Weight packing: tfjs-wasm hands every matmul's right operand to XNNPACK as new weights, and XNNPACK packs them on one thread at ~9 ns per value. In training the operands change every call, so the conv2 filter gradient packs dy (495k values, ~4.5 ms) and the weights are packed again after each update. A wasm build exposing XNNPACK's dynamic fully-connected operator (packing inside the parallel GEMM) would remove most of it; that means rebuilding tfjs-backend-wasm with Emscripten and Bazel, which this machine cannot fetch.
- Serial work between XNNPACK calls: im2col/col2im, transposes, tfjs's engine bookkeeping for ~200 kernel calls per step, the element-wise backward kernels (ReLU's Step + Multiply, bias Add) run on the main thread while the second thread waits; fusing ReLU's gradient needs gradient overrides in tfjs-core.
- Small kernels on 2 threads: every XNNPACK call wakes the second thread; when other processes hold the cores, a wake-up costs up to milliseconds on a 0.1 ms kernel, so 2 threads gain well under 2x on a busy machine and single-image latency is best on 1 thread.
- The data-parallel row (\`DataParallelTrainer\`, \`runtime.dataParallelWorkers\`) splits each batch with a worker thread instead and parallelises the serial parts too; it and wasm threads compete for the same two cores, so use one or the other.`;
