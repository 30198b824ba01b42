import { describe, expect, it } from 'vitest';
import type { MachineInfo } from '../lib/machine.ts';
import { dataNotes, dataVerdict, renderDataReport } from './report.ts';
import type { DataRow } from './types.ts';

const machine: MachineInfo = { cpu: 'Test CPU', cores: 2, memoryGiB: 8, node: 'v20' };

const row = (
  id: string,
  kind: DataRow['kind'],
  rates: number[],
  extra: Partial<DataRow['samples'][0]> = {},
): DataRow => ({
  id,
  label: id,
  task: 'task',
  kind,
  images: 10_000,
  samples: rates.map((imagesPerSecond) => ({ imagesPerSecond, ...extra })),
});

const rows: DataRow[] = [
  row('ours-preprocess', 'ours-preprocess', [760, 773, 790, 770, 780], {
    cpuMsPerImage: 2,
    sharpFixedCostMs: 0.6,
    decodeOnlyCpuMs: 1.05,
  }),
  row('pil-w0', 'pil', [1400, 1420, 1390, 1410, 1405], { cpuMsPerImage: 0.7 }),
  row('pil-w2', 'pil', [2700, 2755, 2800, 2720, 2760]),
  row('prepare-mnist', 'prepare-mnist', [89_000, 90_000, 91_000, 89_500, 90_500]),
];

describe('data report', () => {
  it("compares our preprocessing with PIL's best DataLoader configuration, verdict from ranges", () => {
    const v = dataVerdict(rows)!;
    expect(v.pil.engine).toBe('pil-w2');
    expect(v.ratio).toBeCloseTo(773 / 2755, 6);
    expect(v.verdict).toBe('slower');
  });

  it('notes take every figure from the samples', () => {
    const notes = dataNotes(rows, { sourceSize: 256 });
    expect(notes[0]).toContain('2.00 ms');
    expect(notes[0]).toContain('costs 1.05 ms, 53% of that');
    expect(notes[0]).toContain('0.60 ms, 30%');
    expect(notes[1]).toContain('spend 0.70 ms of CPU per image');
    expect(notes[1]).toContain('ours spends 2.86x that');
  });

  it('renders median (min-max), the ratio against the best PIL row, and no ratio for MNIST', () => {
    const { markdown } = renderDataReport({
      date: '2026-11-30T10:00:00.000Z',
      machine,
      load: { start: 0.2, end: 0.1, cores: 2 },
      rounds: 5,
      quick: false,
      images: 10_000,
      sourceSize: 256,
      targetSize: 64,
      concurrency: 4,
      rows,
      hints: [],
    });
    expect(markdown).toContain('| ours-preprocess | task | 773 (760-790) | 12.94 | 0.28x |');
    expect(markdown).toContain('| prepare-mnist | task | 90,000 (89,000-91,000) | 0.11 | - |');
    expect(markdown).toContain('best configuration (pil-w2): 0.28x, slower');
    expect(markdown).not.toContain('WARNING');
  });

  it('without the peer: no verdict, and the install command is shown', () => {
    const { markdown, verdict } = renderDataReport({
      date: '2026-11-30T10:00:00.000Z',
      machine,
      load: { start: 2, end: 2, cores: 2 },
      rounds: 2,
      quick: true,
      images: 300,
      sourceSize: 256,
      targetSize: 64,
      concurrency: 4,
      rows: rows.filter((r) => r.kind !== 'pil'),
      hints: ['PIL + torchvision; install with: sudo apt-get install -y python3-torchvision python3-pil'],
    });
    expect(verdict).toBeUndefined();
    expect(markdown).toContain('(PIL + torchvision did not run; no verdict.)');
    expect(markdown).toContain(
      '- left out: PIL + torchvision; install with: sudo apt-get install -y python3-torchvision',
    );
    expect(markdown).toContain('WARNING: the machine was not idle');
    expect(markdown).toContain('Quick smoke run');
  });
});
