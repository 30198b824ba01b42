import { describeLoad, formatMachine, type LoadAverages, type MachineInfo } from '../lib/machine.ts';
import { formatNumber, formatSummary, markdownTable } from '../lib/report.ts';
import { bestBy, type Summary, summarize, type Verdict, verdict } from '../lib/stats.ts';
import type { DataRow, DataSample } from './types.ts';

export interface DataReportInput {
  date: string;
  machine: MachineInfo;
  load: LoadAverages;
  rounds: number;
  quick: boolean;
  images: number;
  sourceSize: number;
  targetSize: number;
  concurrency: number;
  rows: DataRow[];
  /** What to install for the rows left out (the bench never installs anything). */
  hints: string[];
}

export interface DataVerdict {
  ours: { engine: string; summary: Summary };
  pil: { engine: string; summary: Summary };
  /** Ratio of medians, > 1: ours faster. */
  ratio: number;
  verdict: Verdict;
}

const rate = (row: DataRow) =>
  row.samples.length > 0 ? summarize(row.samples.map((s) => s.imagesPerSecond)) : undefined;

/** Our preprocessing against PIL + torchvision's best DataLoader configuration. */
export function dataVerdict(rows: DataRow[]): DataVerdict | undefined {
  const ours = rows.find((r) => r.kind === 'ours-preprocess' && r.samples.length > 0);
  const pil = bestBy(
    rows.filter((r) => r.kind === 'pil'),
    rate,
    'higher',
  );
  if (!ours || !pil) return undefined;
  const [a, b] = [rate(ours)!, rate(pil)!];
  return {
    ours: { engine: ours.label, summary: a },
    pil: { engine: pil.label, summary: b },
    ratio: a.median / b.median,
    verdict: verdict(a, b, 'higher'),
  };
}

/** Median of an optional per-sample figure, when every sample has it. */
function medianOf(row: DataRow | undefined, get: (s: DataSample) => number | undefined): number | undefined {
  if (!row || row.samples.length === 0) return undefined;
  const values = row.samples.map(get);
  return values.every((v) => v !== undefined) ? summarize(values as number[]).median : undefined;
}

/** Where our CPU time per image goes and what PIL spends, every figure a median of this run. */
export function dataNotes(rows: DataRow[], input: Pick<DataReportInput, 'sourceSize'>): string[] {
  const ours = rows.find((r) => r.kind === 'ours-preprocess');
  const pil0 = rows.find((r) => r.kind === 'pil' && r.id === 'pil-w0');
  const cpu = medianOf(ours, (s) => s.cpuMsPerImage);
  const fixed = medianOf(ours, (s) => s.sharpFixedCostMs);
  const decode = medianOf(ours, (s) => s.decodeOnlyCpuMs);
  const pilCpu = medianOf(pil0, (s) => s.cpuMsPerImage);
  const notes: string[] = [];
  if (cpu !== undefined && fixed !== undefined && decode !== undefined) {
    const pct = (part: number) => `${Math.round((100 * part) / cpu)}%`;
    notes.push(
      `CPU time per image in our pipeline (Node and libvips threads together): ${cpu.toFixed(2)} ms. A plain decode of one ${input.sourceSize}x${input.sourceSize} JPEG to raw pixels (nothing else) costs ${decode.toFixed(2)} ms, ${pct(decode)} of that; one sharp call on an 8x8 JPEG, the per-call cost every image pays whatever its size (pipeline setup, libuv hand-off, libvips threads), ${fixed.toFixed(2)} ms, ${pct(fixed)} (the decode figure includes it).`,
    );
  }
  if (pilCpu !== undefined) {
    const compared = cpu !== undefined ? `; ours spends ${(cpu / pilCpu).toFixed(2)}x that` : '';
    notes.push(
      `PIL + torchvision in one process (DataLoader, 0 workers) spend ${pilCpu.toFixed(2)} ms of CPU per image on read + decode + Resize + CenterCrop + PILToTensor${compared}.`,
    );
  }
  return notes;
}

export function renderDataReport(input: DataReportInput): {
  text: string;
  markdown: string;
  verdict?: DataVerdict;
} {
  const load = describeLoad(input.load);
  const v = dataVerdict(input.rows);
  const table = markdownTable(
    ['engine', 'task', 'images/s', 'seconds per pass', 'vs best PIL/torchvision'],
    input.rows
      .filter((r) => r.samples.length > 0)
      .map((r) => {
        const summary = rate(r)!;
        return [
          r.label,
          r.task,
          formatSummary(summary),
          formatNumber(r.images / summary.median, 2),
          v && r.kind !== 'prepare-mnist' ? `${(summary.median / v.pil.summary.median).toFixed(2)}x` : '-',
        ];
      }),
  );
  const head = [
    `Measured ${input.date.slice(0, 10)} on ${formatMachine(input.machine)}; ${load.line}.`,
    ...(load.warning ? ['', `**${load.warning}**`] : []),
    '',
    ...(input.quick ? ['**Quick smoke run (--quick): few images, figures meaningless.**', ''] : []),
    ...(!input.quick && input.rounds < 5
      ? [`**Only ${input.rounds} round(s); a verdict needs at least 5 to be quoted.**`, '']
      : []),
    `${input.rounds} interleaved round(s); every contender in its own child process per round, taking turns in a rotating order; page cache warm. Each cell: median (min-max) over the rounds. "faster"/"slower" only where the ranges do not overlap, else "tie".`,
  ];
  const verdictLine = v
    ? `**Our preprocessing against PIL + torchvision's best configuration (${v.pil.engine}): ${v.ratio.toFixed(2)}x, ${v.verdict}** (ours ${formatSummary(v.ours.summary)} images/s, PIL ${formatSummary(v.pil.summary)}; target 2x).`
    : '(PIL + torchvision did not run; no verdict.)';
  const bullets = [
    ...input.hints.map((h) => `- left out: ${h}`),
    ...dataNotes(input.rows, input).map((n) => `- ${n}`),
  ];
  const text = [...head, '', table, '', verdictLine, '', ...bullets].join('\n');
  const markdown = [
    '## Data: preprocessing against PIL + torchvision (`pnpm bench data`)',
    '',
    `${formatNumber(input.images)} generated ${input.sourceSize}x${input.sourceSize} JPEGs (10 class folders, quality 90) resized to ${input.targetSize}x${input.targetSize} RGB with a centre crop. Ours: \`preprocessImage\` (sharp), ${input.concurrency} images in flight, after an untimed warm-up on the first images. PIL + torchvision: \`ImageFolder\` + Resize + CenterCrop + PILToTensor through a DataLoader (batch 256) with 0, 1 and 2 worker processes; with workers, persistent and started by an untimed first epoch. \`prepareDataset\` rows are our whole pipeline (listing, fingerprint, split, preprocess, shards, SHA-256, publish), for context.`,
    '',
    ...head,
    '',
    table,
    '',
    verdictLine,
    '',
    ...bullets,
  ].join('\n');
  return { text, markdown, verdict: v };
}
