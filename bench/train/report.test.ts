import { describe, expect, it } from 'vitest';
import type { MachineInfo } from '../lib/machine.ts';
import { FULL_PROTOCOL } from './engines.ts';
import { engineTable, pytorchSection, renderTrainReport, verdicts } from './report.ts';
import type { EngineRow, NetworkDescription, TrainSample } from './types.ts';

const machine: MachineInfo = {
  cpu: 'Test CPU',
  cores: 2,
  memoryGiB: 8,
  node: 'v20',
  l2CacheBytes: 2 ** 19,
  l3CacheBytes: 32 * 2 ** 20,
};
const network: NetworkDescription = {
  layers: [{ kind: 'conv2d+relu', output: [32, 26, 26], parameters: [[32, 1, 3, 3], [32]] }],
  parameterCount: 320,
};

/** Samples whose figures all scale with `train` (one per round). */
function samples(
  train: number[],
  { infer256 = 3, infer64 = 3, p50 = 0.5, noGrad = true } = {},
): TrainSample[] {
  return train.map((t) => ({
    trainImagesPerSecond: t,
    inferImagesPerSecond: t * infer256,
    inferBatch64ImagesPerSecond: t * infer64,
    latencyP50Ms: p50,
    latencyP99Ms: p50 * 2,
    ...(noGrad
      ? { noGrad: { inferImagesPerSecond: t * infer256, latencyP50Ms: p50, latencyP99Ms: p50 * 2 } }
      : {}),
  }));
}

const torchRow = (
  threads: 1 | 2,
  layout: 'contiguous' | 'channels_last',
  blas: string,
  s: TrainSample[],
): EngineRow => ({
  id: `torch-${threads}-${layout}-${blas}`,
  label: `pytorch ${threads}t ${layout} ${blas}`,
  side: 'pytorch',
  samples: s,
  torch: { threads, layout, blas },
});

const rows: EngineRow[] = [
  {
    id: 'wasm-2t',
    label: 'wasm 2t',
    side: 'ours',
    samples: samples([1364, 1380, 1393, 1370, 1390], { p50: 0.3 }),
  },
  { id: 'wasm-1t', label: 'wasm 1t', side: 'ours', samples: samples([1200, 1210, 1190, 1205, 1195]) },
  { id: 'tfjs-node', label: 'tfjs-node', side: 'ours', samples: [] },
  torchRow(
    2,
    'contiguous',
    'reference',
    samples([1735, 1700, 1760, 1740, 1720], { infer256: 1.8, infer64: 1.9 }),
  ),
  torchRow(
    2,
    'channels_last',
    'openblas-openmp',
    samples([1866, 1900, 1948, 1880, 1910], { infer64: 4.5, p50: 0.4 }),
  ),
  torchRow(1, 'channels_last', 'openblas-openmp', samples([1100, 1120, 1090, 1105, 1110])),
  torchRow(2, 'contiguous', 'openblas-openmp', samples([1800, 1790, 1810, 1805, 1795])),
];

describe('train report', () => {
  it("compares our best engine with PyTorch's best configuration, per figure, with verdicts from ranges", () => {
    const v = verdicts(rows);
    const train = v.find((x) => x.metric === 'train')!;
    expect(train.ours.engine).toBe('wasm 2t');
    expect(train.pytorch.engine).toBe('pytorch 2t channels_last openblas-openmp');
    expect(train.ratio).toBeCloseTo(1380 / 1900, 6);
    expect(train.verdict).toBe('slower');
    const p50 = v.find((x) => x.metric === 'p50')!;
    expect(p50.ours.engine).toBe('wasm 2t');
    expect(p50.pytorch.summary.median).toBe(0.4);
    expect(p50.verdict).toBe('faster'); // 0.3 ms every round against 0.4 ms every round: ranges apart
  });

  it('renders every engine that ran as median (min-max) and leaves out the one that did not', () => {
    const table = engineTable(rows);
    expect(table).toContain('| wasm 2t | 1,380 (1,364-1,393) | 4,140 (4,092-4,179) |');
    expect(table).not.toContain('tfjs-node');
    expect(table.split('\n')).toHaveLength(2 + 6);
  });

  it('explains a low batch-256 inference figure with batch 64 when their ranges are apart, from the figures', () => {
    const { table, notes } = pytorchSection(rows, network, machine);
    expect(table).toContain(
      '| pytorch 2t channels_last openblas-openmp | 1,900 | 5,700 | 5,700 | 8,550 | 3.00x | 4.50x |',
    );
    expect(notes[0]).toContain(
      'best training configuration in this run: pytorch 2t channels_last openblas-openmp',
    );
    expect(notes[0]).toContain(`1 thread(s): ${(1105 / 1900).toFixed(2)}x`);
    expect(notes[0]).toContain(`contiguous: ${(1800 / 1900).toFixed(2)}x`);
    expect(notes[2]).toContain('batch-256 inference runs at 3.00x and batch-64 inference at 4.50x');
    expect(notes[2]).toContain(
      'the first ReLU alone reads and writes 42.3 MiB at batch 256 (10.6 MiB at batch 64) against 32 MiB of last-level cache: at 256 it cannot stay in cache, at 64 it can',
    );
    expect(notes[3]).toContain(
      '2 threads, contiguous, reference BLAS, no_grad, batch 256: in this run that gives 1,735',
    );
  });

  it('says batch size explains nothing when batch 64 and 256 tie', () => {
    const flat = [
      torchRow(1, 'contiguous', 'reference', samples([100, 110, 90], { infer256: 3, infer64: 3 })),
    ];
    const { notes } = pytorchSection(flat, network, machine);
    expect(notes.join(' ')).toContain('a tie (ranges overlap), so batch size does not lower');
  });

  it('README section: load line, the busy warning, verdict table, left-out rows with their install command', () => {
    const { markdown, text } = renderTrainReport({
      date: '2026-11-30T10:00:00.000Z',
      machine,
      load: { start: 1.36, end: 1.2, cores: 2 },
      rounds: 5,
      quick: false,
      protocol: FULL_PROTOCOL,
      network,
      rows,
      unavailable: ['tfjs-node: addon missing'],
      hints: ['PyTorch with openblas-pthread BLAS (not installed); install with: sudo apt-get install -y x'],
    });
    expect(markdown).toContain('load average 1.36 at start, 1.20 at end (2 cores)');
    expect(markdown).toContain('WARNING: the machine was not idle (load 0.68 per core > 0.3)');
    expect(markdown).toMatch(
      /\| training \| 1,380 \(1,364-1,393\) — wasm 2t \| 1,900 \(1,866-1,948\) — .* \| 0\.73x \| \*\*slower\*\* \|/,
    );
    expect(markdown).toContain('- unavailable: tfjs-node: addon missing');
    expect(markdown).toContain('- left out: PyTorch with openblas-pthread BLAS');
    expect(text).toContain('WARNING');
  });

  it('without PyTorch: no verdicts, no PyTorch section', () => {
    const ours = rows.filter((r) => r.side === 'ours');
    const { markdown, verdicts: v } = renderTrainReport({
      date: '2026-11-30T10:00:00.000Z',
      machine,
      load: { start: 0.1, end: 0.1, cores: 2 },
      rounds: 5,
      quick: false,
      protocol: FULL_PROTOCOL,
      network,
      rows: ours,
      unavailable: [],
      hints: [],
    });
    expect(v).toEqual([]);
    expect(markdown).toContain('(PyTorch did not run; no verdicts.)');
    expect(markdown).not.toContain('WARNING');
    expect(markdown).not.toContain("PyTorch's configurations");
  });
});
