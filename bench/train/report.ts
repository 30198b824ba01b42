import { describeLoad, formatMachine, type LoadAverages, type MachineInfo } from '../lib/machine.ts';
import { formatNumber, formatSummary, markdownTable } from '../lib/report.ts';
import { bestBy, type Summary, speedRatio, summarize, type Verdict, verdict } from '../lib/stats.ts';
import type { EngineRow, NetworkDescription, TrainProtocol, TrainSample } from './types.ts';

/** A figure the table reports, and which way is better. */
interface Metric {
  key: 'train' | 'infer256' | 'infer64' | 'p50' | 'p99';
  title: string;
  column: string;
  better: 'higher' | 'lower';
  digits: number;
  get(sample: TrainSample): number;
}

export const METRICS: readonly Metric[] = [
  {
    key: 'train',
    title: 'training',
    column: 'train img/s',
    better: 'higher',
    digits: 0,
    get: (s) => s.trainImagesPerSecond,
  },
  {
    key: 'infer256',
    title: 'batch-256 inference',
    column: 'batch-256 infer img/s',
    better: 'higher',
    digits: 0,
    get: (s) => s.inferImagesPerSecond,
  },
  {
    key: 'infer64',
    title: 'batch-64 inference',
    column: 'batch-64 infer img/s',
    better: 'higher',
    digits: 0,
    get: (s) => s.inferBatch64ImagesPerSecond,
  },
  {
    key: 'p50',
    title: 'single-image latency p50',
    column: 'latency p50 ms',
    better: 'lower',
    digits: 2,
    get: (s) => s.latencyP50Ms,
  },
  {
    key: 'p99',
    title: 'single-image latency p99',
    column: 'latency p99 ms',
    better: 'lower',
    digits: 2,
    get: (s) => s.latencyP99Ms,
  },
];

export interface TrainReportInput {
  date: string;
  machine: MachineInfo;
  load: LoadAverages;
  rounds: number;
  quick: boolean;
  protocol: TrainProtocol;
  network: NetworkDescription;
  rows: EngineRow[];
  /** `label: reason` for each engine that could not run. */
  unavailable: string[];
  /** What to install for the rows left out (the bench never installs anything). */
  hints: string[];
  /** Per-kernel milliseconds of one training step of our best single-process wasm engine, largest first. */
  profile?: { label: string; stepMs: number; rows: Array<[string, number]> };
}

/** Our best against PyTorch's best on one figure. */
export interface VerdictRow {
  metric: Metric['key'];
  title: string;
  ours: { engine: string; summary: Summary };
  pytorch: { engine: string; summary: Summary };
  /** > 1: ours is better (medians). */
  ratio: number;
  verdict: Verdict;
}

const summaryOf = (row: EngineRow, metric: Metric): Summary | undefined =>
  row.samples.length > 0 ? summarize(row.samples.map(metric.get)) : undefined;

/** Our best engine against PyTorch's best configuration, per figure (best = best median). */
export function verdicts(rows: EngineRow[]): VerdictRow[] {
  const result: VerdictRow[] = [];
  for (const metric of METRICS) {
    const best = (side: EngineRow['side']) =>
      bestBy(
        rows.filter((r) => r.side === side),
        (r) => summaryOf(r, metric),
        metric.better,
      );
    const [ours, pytorch] = [best('ours'), best('pytorch')];
    if (!ours || !pytorch) continue;
    const [a, b] = [summaryOf(ours, metric)!, summaryOf(pytorch, metric)!];
    result.push({
      metric: metric.key,
      title: metric.title,
      ours: { engine: ours.label, summary: a },
      pytorch: { engine: pytorch.label, summary: b },
      ratio: speedRatio(a, b, metric.better),
      verdict: verdict(a, b, metric.better),
    });
  }
  return result;
}

/** The per-engine table: every figure as median (min-max) over rounds. */
export function engineTable(rows: EngineRow[]): string {
  return markdownTable(
    ['engine', ...METRICS.map((m) => m.column)],
    rows
      .filter((r) => r.samples.length > 0)
      .map((r) => [r.label, ...METRICS.map((m) => formatSummary(summaryOf(r, m), m.digits))]),
  );
}

export function verdictTable(rows: VerdictRow[]): string {
  return markdownTable(
    ['figure', 'ours (best engine)', 'PyTorch (best configuration)', 'ours vs PyTorch', 'verdict'],
    rows.map((v) => {
      const digits = METRICS.find((m) => m.key === v.metric)!.digits;
      return [
        v.title,
        `${formatSummary(v.ours.summary, digits)} — ${v.ours.engine}`,
        `${formatSummary(v.pytorch.summary, digits)} — ${v.pytorch.engine}`,
        `${v.ratio.toFixed(2)}x`,
        `**${v.verdict}**`,
      ];
    }),
  );
}

const medianOf = (row: EngineRow, get: (s: TrainSample) => number) => summarize(row.samples.map(get)).median;

type TorchRow = EngineRow & { torch: NonNullable<EngineRow['torch']> };

/** The row differing from `base` in exactly the settings given. */
function sibling(rows: TorchRow[], base: TorchRow, change: Partial<TorchRow['torch']>): TorchRow | undefined {
  const want = { ...base.torch, ...change };
  return rows.find(
    (r) =>
      r !== base &&
      r.torch.threads === want.threads &&
      r.torch.layout === want.layout &&
      r.torch.blas === want.blas,
  );
}

/** One setting of `base` changed at a time: what each change does to a figure (ratio of medians). */
function settingEffects(rows: TorchRow[], base: TorchRow, get: (s: TrainSample) => number): string[] {
  const effects: string[] = [];
  const effect = (label: string, row: TorchRow | undefined) => {
    if (row) effects.push(`${label}: ${(medianOf(row, get) / medianOf(base, get)).toFixed(2)}x`);
  };
  effect(
    `${base.torch.threads === 1 ? 2 : 1} thread(s)`,
    sibling(rows, base, { threads: base.torch.threads === 1 ? 2 : 1 }),
  );
  const layout = base.torch.layout === 'contiguous' ? 'channels_last' : 'contiguous';
  effect(layout, sibling(rows, base, { layout }));
  for (const blas of new Set(rows.map((r) => r.torch.blas)))
    if (blas !== base.torch.blas) effect(`${blas} BLAS`, sibling(rows, base, { blas }));
  return effects;
}

/**
 * What the run says about PyTorch's configurations and its inference figure, every number taken from `rows`: a
 * table of inference against training per configuration and the notes under it. Empty when PyTorch did not run.
 */
export function pytorchSection(
  rows: EngineRow[],
  network: NetworkDescription,
  machine: MachineInfo,
): { table?: string; notes: string[] } {
  const torch = rows.filter((r): r is TorchRow => r.side === 'pytorch' && !!r.torch && r.samples.length > 0);
  const best = bestBy(torch, (r) => summarize(r.samples.map((s) => s.trainImagesPerSecond)), 'higher');
  if (!best) return { notes: [] };
  const train = (s: TrainSample) => s.trainImagesPerSecond;
  const infer256 = (s: TrainSample) => s.inferImagesPerSecond;
  const infer64 = (s: TrainSample) => s.inferBatch64ImagesPerSecond;
  const noGrad256 = (s: TrainSample) => s.noGrad?.inferImagesPerSecond ?? Number.NaN;
  const hasNoGrad = (r: EngineRow) => r.samples.every((s) => s.noGrad);
  const table = markdownTable(
    [
      'PyTorch configuration',
      'train img/s',
      'batch 256, inference_mode',
      'batch 256, no_grad',
      'batch 64, inference_mode',
      'batch 256 / train',
      'batch 64 / train',
    ],
    torch.map((r) => [
      r.label,
      formatNumber(medianOf(r, train)),
      formatNumber(medianOf(r, infer256)),
      hasNoGrad(r) ? formatNumber(medianOf(r, noGrad256)) : '-',
      formatNumber(medianOf(r, infer64)),
      `${(medianOf(r, infer256) / medianOf(r, train)).toFixed(2)}x`,
      `${(medianOf(r, infer64) / medianOf(r, train)).toFixed(2)}x`,
    ]),
  );
  const notes: string[] = [];
  notes.push(
    `PyTorch's best training configuration in this run: ${best.label}. One setting changed from it (training, ratio of medians): ${settingEffects(torch, best, train).join('; ') || 'no other configuration ran'}.`,
  );
  const bestInfer = bestBy(torch, (r) => summarize(r.samples.map(infer256)), 'higher')!;
  notes.push(
    `Best batch-256 inference: ${bestInfer.label}. One setting changed from it (batch-256 inference): ${settingEffects(torch, bestInfer, infer256).join('; ') || 'no other configuration ran'}.`,
  );

  // The inference figure against training, for the best training configuration.
  const [s256, s64] = [summarize(best.samples.map(infer256)), summarize(best.samples.map(infer64))];
  const trainRate = medianOf(best, train);
  const parts = [
    `A forward pass is about a third of a training step's arithmetic, so inference near 3x the training rate is the usual expectation; in the best training configuration batch-256 inference runs at ${(s256.median / trainRate).toFixed(2)}x and batch-64 inference at ${(s64.median / trainRate).toFixed(2)}x.`,
  ];
  // The first ReLU reads the first convolution's output and writes one as large (PyTorch's eval forward does not
  // fuse them): the largest working set of any single op in this network.
  const firstLayer = network.layers[0];
  const reluMiB = (batch: number) =>
    firstLayer ? (2 * batch * firstLayer.output.reduce((a, b) => a * b, 1) * 4) / 2 ** 20 : 0;
  const cacheMiB = machine.l3CacheBytes ? machine.l3CacheBytes / 2 ** 20 : undefined;
  const batchVerdict = verdict(s64, s256, 'higher');
  if (batchVerdict === 'faster') {
    const fits =
      cacheMiB === undefined
        ? ''
        : ` against ${formatNumber(cacheMiB)} MiB of last-level cache${reluMiB(256) > cacheMiB && reluMiB(64) <= cacheMiB ? ': at 256 it cannot stay in cache, at 64 it can' : ''}`;
    parts.push(
      `Batch 64 beats batch 256 per image (ranges apart). PyTorch runs one op at a time over the whole batch; the first ReLU alone reads and writes ${formatNumber(reluMiB(256), 1)} MiB at batch 256 (${formatNumber(reluMiB(64), 1)} MiB at batch 64)${fits}. The batch-256 figure therefore understates PyTorch's inference; compare batch 64 too.`,
    );
  } else {
    parts.push(
      `Batch 64 against batch 256 per image: ${batchVerdict === 'tie' ? 'a tie (ranges overlap)' : 'batch 256 faster'}, so batch size does not lower PyTorch's inference figure in this run.`,
    );
  }
  if (hasNoGrad(best)) {
    const ng = summarize(best.samples.map(noGrad256));
    const v = verdict(s256, ng, 'higher');
    parts.push(
      `torch.inference_mode against torch.no_grad at batch 256: ${(s256.median / ng.median).toFixed(2)}x (${v === 'tie' ? 'a tie' : v === 'faster' ? 'inference_mode faster, ranges apart' : 'no_grad faster, ranges apart'}).`,
    );
  }
  notes.push(parts.join(' '));
  const old = torch.find(
    (r) =>
      r.torch.threads === 2 &&
      r.torch.layout === 'contiguous' &&
      r.torch.blas === 'reference' &&
      hasNoGrad(r),
  );
  if (old) {
    notes.push(
      `The previous version of this bench measured PyTorch as 2 threads, contiguous, reference BLAS, no_grad, batch 256: in this run that gives ${formatNumber(medianOf(old, train))} img/s training and ${formatNumber(medianOf(old, noGrad256))} img/s inference (${(medianOf(old, noGrad256) / medianOf(old, train)).toFixed(2)}x), against ${formatNumber(trainRate)} and ${formatNumber(s256.median)} for the best training configuration.`,
    );
  }
  return { table, notes };
}

/** What the wasm figures rest on and what would move them (design facts; every figure is in the tables above). */
const ANALYSIS = `### What makes wasm train, and fast

- \`registerWasmTrainingKernels()\` adds what tfjs-backend-wasm 4.22 lacks and replaces what it runs slowly: Conv2DBackpropFilter as patchesᵀ·dy (im2col by a SIMD block copy per filter tap, the product on our own SIMD GEMM when the output channels are a multiple of 16, else XNNPACK), Conv2D with few filter taps as im2col + our GEMM on the single-threaded build, Conv2DBackpropInput as dy·Wᵀ then a SIMD col2im, MaxPoolGrad, Sum over leading axes (bias gradients), BatchMatMul computing C or Cᵀ by whichever needs less XNNPACK packing, Identity and same-dtype Cast as reference-counted aliases instead of copies.
- The SIMD loops come from a small WebAssembly module the runtime writes itself over the wasm heap (there is no toolchain at run time); its GEMM accumulates with \`f32x4.relaxed_madd\` (fused multiply-add) where relaxed SIMD validates.
- \`configureWasmBackend({ threads: 2 })\` loads tfjs's threaded SIMD build in Node (stock tfjs keeps threads off in Node), so XNNPACK's convolutions, matmuls, pooling and element-wise kernels use both cores.
- \`createTrainStep\` + \`FusedAdam\` skip \`minimize\`'s bookkeeping and do Adam in one SIMD pass per variable instead of ~14 kernels.

### Where the rest goes, and what would close it

- Arithmetic width: wasm SIMD is 128 bits (4 floats per instruction) against the 256-bit AVX2 FMA code PyTorch's oneDNN (convolutions) and OpenBLAS (Linear layers) run on this CPU. Our GEMM has FMA; XNNPACK's prebuilt wasm, which still runs the forward convolutions, dy·Wᵀ and the dense layers, multiplies and adds separately. Compare PyTorch with Debian's default reference BLAS in the table: its Linear layers alone make much of the gap.
- Weight packing: tfjs-wasm hands every matmul's right operand to XNNPACK as new weights, which XNNPACK packs on one thread; in training the operands change every call. Moving the remaining products onto our own unpacked GEMM, or a wasm build exposing XNNPACK's dynamic fully-connected operator (rebuilding tfjs-backend-wasm with Emscripten and Bazel), would remove it.
- Serial work between kernel calls: im2col/col2im, transposes, tfjs's engine bookkeeping for ~200 kernel calls per step, the element-wise backward kernels (ReLU's Step + Multiply, bias Add) run on the main thread while the second thread waits.
- The data-parallel engine splits each batch with a worker thread instead and parallelises the serial parts too; it and wasm threads compete for the same two cores, so use one or the other.
- On a machine where libtensorflow installs, tfjs-node (native TensorFlow with its AVX/FMA kernels) is the engine to compare; it could not be installed here.`;

/** The stdout report and the README section; every figure and every note comes from `input`. */
export function renderTrainReport(input: TrainReportInput): {
  text: string;
  markdown: string;
  verdicts: VerdictRow[];
} {
  const load = describeLoad(input.load);
  const table = engineTable(input.rows);
  const rowsVerdicts = verdicts(input.rows);
  const verdictsMd = rowsVerdicts.length > 0 ? verdictTable(rowsVerdicts) : '';
  const missing = [
    ...input.unavailable.map((u) => `- unavailable: ${u}`),
    ...input.hints.map((h) => `- left out: ${h}`),
  ];
  const torch = pytorchSection(input.rows, input.network, input.machine);
  const notes = torch.notes.map((n) => `- ${n}`);
  const torchSection = torch.table
    ? ['', "### PyTorch's configurations and its inference figure", '', torch.table, '', ...notes]
    : [];
  const head = [
    `Measured ${input.date.slice(0, 10)} on ${formatMachine(input.machine)}; ${load.line}.`,
    ...(load.warning ? ['', `**${load.warning}**`] : []),
    '',
    ...(input.quick ? ['**Quick smoke run (--quick): few steps, figures meaningless.**', ''] : []),
    ...(!input.quick && input.rounds < 5
      ? [`**Only ${input.rounds} round(s); a verdict needs at least 5 to be quoted.**`, '']
      : []),
    `${input.rounds} interleaved round(s); every engine in its own child process per round, engines taking turns in a rotating order. Each cell: median (min-max) over the rounds. A verdict is "faster" or "slower" only where the two ranges do not overlap, else "tie".`,
  ];
  const text = [...head, '', table, '', verdictsMd, '', ...missing, ...torchSection].join('\n');
  const profile = input.profile
    ? [
        '',
        `Where one training step's time goes on ${input.profile.label} (${input.profile.stepMs.toFixed(1)} ms per profiled step in this run, tf.profile; kernels our kernels call are counted in their caller):`,
        '',
        markdownTable(
          ['kernel', 'ms per step'],
          input.profile.rows.map(([name, ms]) => [name, ms.toFixed(1)]),
        ),
      ]
    : [];
  const p = input.protocol;
  const markdown = [
    '## Training: the product CNN against PyTorch (`pnpm bench train`)',
    '',
    `The network is \`createCnn\` from \`@tfmlops/model\` (conv 3x3x32 + ReLU, maxpool 2, conv 3x3x64 + ReLU, maxpool 2, dense 128 + ReLU, dense 10; ${formatNumber(input.network.parameterCount)} parameters); PyTorch builds the same layers, and the bench checks layer by layer (kinds, output shapes, parameter shapes, parameter count) that they match before it measures. float32, 28x28x1 synthetic input, batch ${p.batch}, Adam (lr 1e-3), loss read back every step; ${p.warmupSteps} warm-up steps, then ${p.trainSteps} timed. Inference: one call per batch of 256 (${p.inferRuns} timed) and of 64 (${p.inferRuns * 4} timed) after ${p.inferWarmup} warm-up calls, result read back; PyTorch under torch.inference_mode (torch.no_grad in its own column below). Latency: one image, result read back, ${p.latencyRuns} calls after ${p.latencyWarmup} warm-up. PyTorch runs every configuration: threads 1 and 2 x contiguous and channels_last x each BLAS library installed for its Linear layers (Debian's python3-torch, oneDNN for convolutions).`,
    '',
    ...head,
    '',
    table,
    '',
    "### Our best against PyTorch's best",
    '',
    verdictsMd || '(PyTorch did not run; no verdicts.)',
    '',
    ...missing,
    ...torchSection,
    ...profile,
    '',
    ANALYSIS,
  ].join('\n');
  return { text, markdown, verdicts: rowsVerdicts };
}
