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

- Kernels tfjs-backend-wasm 4.22 lacks or runs slowly are registered by \`registerWasmTrainingKernels()\`: Conv2DBackpropFilter as a patch-matrix matmul (im2col written by a SIMD block copy per filter tap, then XNNPACK), Conv2DBackpropInput as dy·Wᵀ plus a SIMD col2im, MaxPoolGrad (SIMD for 2x2/2), Sum over leading axes (bias gradients; the stock kernel transposes first), transposed matmuls routed to XNNPACK, depthwise-conv gradients and UnsortedSegmentSum on the cpu implementation.
- The SIMD loops come from a small WebAssembly module the runtime writes itself over the wasm heap (no toolchain at run time); JS loops over the heap measured 3-16 ns per value on this machine, the SIMD module 0.3-1.
- \`configureWasmBackend({ threads: 2 })\` loads tfjs's threaded SIMD build in Node (stock tfjs keeps threads off in Node and would cap the pool at cores/2 = 1 here): XNNPACK's convolutions, matmuls, pooling and element-wise ops split across both cores.
- \`createTrainStep\` + \`FusedAdam\` skip \`fit\`/\`minimize\` bookkeeping and do Adam in one SIMD pass per variable instead of ~14 kernels.

### Where the rest goes, and what would close it

- Weight packing: tfjs-wasm hands every matmul's right operand to XNNPACK as new weights, and packing runs single-threaded at ~5-12 ns per value. In a training step those operands change every call (dy for the filter gradients, the weights after each update), so packing is a fixed serial cost of several ms per step. A wasm build exposing XNNPACK's dynamic fully-connected operator (packing inside the parallel GEMM) or taking pre-packed weights would remove it; it needs rebuilding tfjs-backend-wasm with Emscripten (not available here).
- Small kernels on 2 threads: every XNNPACK call wakes the second thread; when other processes hold the cores (as during this run), the wake-up costs up to milliseconds on a 0.1 ms kernel, so 2 threads gain less than 2x and single-image latency is best on 1 thread.
- Element-wise backward passes (ReLU's Step + Cast + Multiply, bias Add) are separate tfjs kernels: fusing them needs gradient overrides in tfjs-core.
- The data-parallel row (another engineer's DataParallelTrainer) splits each batch across a worker thread instead; it and wasm threads compete for the same two cores, so use one or the other.`;
