import { describeLoad, formatMachine, type LoadAverages, type MachineInfo } from '../lib/machine.ts';
import { formatSummary, markdownTable } from '../lib/report.ts';
import { type Summary, speedRatio, summarize, verdict } from '../lib/stats.ts';
import type { ServeSample } from './measure.ts';

/** One server's rounds, summarised. */
export interface ServeRow {
  id: string;
  label: string;
  side: 'ours' | 'peer';
  samples: ServeSample[];
}

export interface SoakResult {
  label: string;
  requests: number;
  errors: number;
  tensorsBefore: number | null;
  tensorsAfter: number | null;
  rssPeakMb: number;
}

export interface ServeReportInput {
  date: string;
  machine: MachineInfo;
  load: LoadAverages;
  rounds: number;
  connections: number;
  durationSeconds: number;
  bundle: string;
  rows: ServeRow[];
  soak: SoakResult | null;
  unavailable: string[];
}

type Figure = 'requestsPerSecond' | 'latencyP50Ms' | 'latencyP99Ms' | 'rssPeakMb';

function figure(row: ServeRow | undefined, name: Figure): Summary | undefined {
  const values = row?.samples.flatMap((s) => (s.load ? [s.load[name]] : [])) ?? [];
  return values.length > 0 ? summarize(values) : undefined;
}

function coldStart(row: ServeRow | undefined): Summary | undefined {
  return row && row.samples.length > 0 ? summarize(row.samples.map((s) => s.coldStartMs)) : undefined;
}

function totals(row: ServeRow): { requests: number; failed: number } {
  return row.samples.reduce(
    (sum, s) => ({
      requests: sum.requests + (s.load?.requests ?? 0),
      failed: sum.failed + (s.load ? s.load.errors + s.load.non2xx : 0),
    }),
    { requests: 0, failed: 0 },
  );
}

const VERDICT_WORDS = {
  faster: 'better in every round',
  slower: 'worse in every round',
  tie: 'the ranges overlap, no winner claimed',
};

/** The stdout table and the README section: table, verdicts against the targets, where the numbers come from. */
export function renderServeReport(input: ServeReportInput): {
  table: string;
  markdown: string;
  warning?: string;
} {
  const loadRows = input.rows.filter((row) => row.samples.some((s) => s.load));
  const table = markdownTable(
    [
      'server',
      'req/s',
      'p50 ms',
      'p99 ms',
      'errors',
      'peak RSS MB',
      'cold start ms',
      'live tensors before→after',
    ],
    loadRows.map((row) => {
      const { requests, failed } = totals(row);
      const tensors = row.samples
        .filter((s) => s.load?.tensorsBefore !== null && s.load?.tensorsBefore !== undefined)
        .map((s) => `${s.load!.tensorsBefore}→${s.load!.tensorsAfter}`);
      return [
        row.label,
        formatSummary(figure(row, 'requestsPerSecond')),
        formatSummary(figure(row, 'latencyP50Ms'), 1),
        formatSummary(figure(row, 'latencyP99Ms'), 1),
        `${failed} of ${requests.toLocaleString('en-US')}`,
        formatSummary(figure(row, 'rssPeakMb')),
        formatSummary(coldStart(row)),
        tensors.length > 0 ? tensors.join(', ') : '-',
      ];
    }),
  );

  const ours = input.rows.find((row) => row.id === 'tfjs');
  const peers = input.rows.filter((row) => row.side === 'peer' && row.samples.length > 0);
  const peer = peers.reduce<ServeRow | undefined>(
    (best, row) =>
      !best || figure(row, 'requestsPerSecond')!.median > figure(best, 'requestsPerSecond')!.median
        ? row
        : best,
    undefined,
  );
  const lines: string[] = [];
  const oursRps = figure(ours, 'requestsPerSecond');
  if (ours && oursRps && peer) {
    const peerRps = figure(peer, 'requestsPerSecond')!;
    const oursP99 = figure(ours, 'latencyP99Ms')!;
    const peerP99 = figure(peer, 'latencyP99Ms')!;
    lines.push(
      `- The peer's best configuration here: **${peer.label}** (${peers.map((p) => `${p.label}: ${formatSummary(figure(p, 'requestsPerSecond'))} req/s`).join('; ')}).`,
      `- Throughput: **${speedRatio(oursRps, peerRps, 'higher').toFixed(2)}x** the peer (target >= 3x); ${VERDICT_WORDS[verdict(oursRps, peerRps, 'higher')]}.`,
      `- p99 latency: ${oursP99.median.toFixed(1)} ms vs ${peerP99.median.toFixed(1)} ms, **${(oursP99.median / peerP99.median).toFixed(2)}x** (target <= 0.5x); ${VERDICT_WORDS[verdict(oursP99, peerP99, 'lower')]}.`,
    );
  }
  if (ours && oursRps) {
    const { requests, failed } = totals(ours);
    const rss = figure(ours, 'rssPeakMb')!;
    lines.push(
      `- Errors: ${failed} of ${requests.toLocaleString('en-US')} (target 0). Peak RSS: ${rss.median.toFixed(0)} MB (target <= 200).`,
      `- Cold start, process start to GET /readyz 200, bundle on local disk: \`node --import tsx packages/serve/src/server.ts\` (as the API image runs it) **${coldStart(ours)!.median.toFixed(0)} ms** (target <= 1000)${coldStart(input.rows.find((r) => r.id === 'pnpm-serve')) ? `; \`pnpm serve\` (adds pnpm and the tsx CLI's own process) ${formatSummary(coldStart(input.rows.find((r) => r.id === 'pnpm-serve')))} ms` : ''}.`,
    );
  }
  const noBatching = figure(
    input.rows.find((row) => row.id === 'tfjs-no-batching'),
    'requestsPerSecond',
  );
  if (oursRps && noBatching) {
    lines.push(
      `- Micro-batching: ${formatSummary(oursRps)} req/s with the defaults vs ${formatSummary(noBatching)} with MAX_BATCH=1: **${speedRatio(oursRps, noBatching, 'higher').toFixed(2)}x**; ${VERDICT_WORDS[verdict(oursRps, noBatching, 'higher')]}.`,
    );
  }
  if (input.soak) {
    const s = input.soak;
    lines.push(
      `- Soak: ${s.requests.toLocaleString('en-US')} requests to one process of ${s.label} (${s.errors} errors): live tensors ${s.tensorsBefore} before and ${s.tensorsAfter} after (target: no growth); peak RSS ${s.rssPeakMb.toFixed(0)} MB.`,
    );
  }
  const { line: loadLine, warning } = describeLoad(input.load);
  const markdown = [
    '## Serving: POST /predict under load (`pnpm bench serve`)',
    '',
    ...(warning ? [`> ${warning}`, ''] : []),
    `autocannon with ${input.connections} connections for ${input.durationSeconds} s per turn (after a warm-up), posting docs/digit.png (a 28x28 MNIST PNG) as multipart field \`file\` to POST /predict. Served: ${input.bundle}. Every server starts in a fresh process for every turn, the servers take turns over ${input.rounds} round(s), and the table gives median (min-max) over rounds. Ours runs as \`pnpm serve\` would, with its defaults (one JSON log line per request); the peer, \`bench/serve/peer_fastapi.py\` (a thread-pool endpoint doing PIL + torch, 1 torch thread per worker), runs without an access log, in 1 and 2 uvicorn workers. The load generator shares the machine. Measured ${input.date.slice(0, 10)} on ${formatMachine(input.machine)}; ${loadLine}.`,
    '',
    table,
    '',
    ...lines,
    ...input.unavailable.map((u) => `- left out: ${u}`),
  ].join('\n');
  return { table, markdown, warning };
}
