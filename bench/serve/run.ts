/**
 * `pnpm bench serve [--quick] [--rounds N] [--duration S] [--connections C] [--model URI] [--engines a,b] [--soak N]`:
 * the inference service under load next to FastAPI + uvicorn + PyTorch serving the same network, in one run. Every
 * server starts in a fresh process for every turn and the servers take turns over the rounds (median and min-max in
 * the table). Cold start, peak RSS, errors and live tensors are recorded; then one process takes a 50,000-request
 * soak. Prints a table, writes JSON under bench/results/ and, unless --quick or --engines, the README section.
 *
 * It never installs anything: without the peer's Debian packages it prints the command and leaves its rows out.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { preprocessImage } from '@tfmlops/data';
import { buildServer } from '../../packages/serve/scripts/build.ts';
import { describeMachine, formatMachine, loadNow, startCpuAccounting } from '../lib/machine.ts';
import { aptInstallCommand, DEBIAN_PYTHON, pythonModuleAvailable } from '../lib/python.ts';
import { updateReadmeSection, writeResults } from '../lib/report.ts';
import { type Contender, runRounds } from '../lib/rounds.ts';
import { type BenchBundle, benchBundle, ROOT } from './bundle.ts';
import { ENGINES, pnpmServe, type RequestKind, type ServeEngine } from './engines.ts';
import {
  freePort,
  type LoadOptions,
  type LoadRequest,
  measureColdStart,
  measureRun,
  type ServeSample,
} from './measure.ts';
import { renderServeReport, type ServeRow, type SoakResult } from './report.ts';

const PEER_PACKAGES = [
  'python3-fastapi',
  'python3-uvicorn',
  'python3-multipart',
  'python3-torch',
  'python3-pil',
];
const BOUNDARY = '----tfmlops-bench-boundary';

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
}

const DIGIT = join(ROOT, 'docs', 'digit.png');

/** The body `curl -F file=@docs/digit.png` sends to POST /predict; every server gets the very same bytes. */
function multipartDigit(): LoadRequest {
  const body = Buffer.concat([
    Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="digit.png"\r\nContent-Type: image/png\r\n\r\n`,
    ),
    readFileSync(DIGIT),
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
  return {
    path: '/predict',
    body,
    headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
    isPrediction: (answer) => Array.isArray((answer as { predictions?: unknown }).predictions),
  };
}

/**
 * The same digit as an Open Inference Protocol request: its pixels after the bundle's preprocessing (what a client
 * that decodes images itself sends), UINT8, shape [1, H, W, C].
 */
async function oipDigit(bundle: BenchBundle): Promise<LoadRequest> {
  const pixels = await preprocessImage(readFileSync(DIGIT), bundle.preprocess);
  const { height, width, channels } = bundle.preprocess;
  const body = JSON.stringify({
    inputs: [
      { name: 'input', shape: [1, height, width, channels], datatype: 'UINT8', data: Array.from(pixels) },
    ],
  });
  return {
    path: `/v2/models/${encodeURIComponent(bundle.name)}/infer`,
    body: Buffer.from(body),
    headers: { 'content-type': 'application/json' },
    isPrediction: (answer) => Array.isArray((answer as { outputs?: unknown }).outputs),
  };
}

export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  // Five: this VM's run-to-run spread is wide (one engine 425-1,032 req/s), and three rounds let a difference look
  // settled that eight did not confirm (drift monitoring on/off, bench/README.md).
  const rounds = Number(option(args, 'rounds') ?? (quick ? 1 : 5));
  const durationSeconds = Number(option(args, 'duration') ?? (quick ? 5 : 20));
  const connections = Number(option(args, 'connections') ?? 16);
  const soakRequests = Number(option(args, 'soak') ?? (quick ? 0 : 50_000));
  const only = option(args, 'engines')?.split(',');
  for (const [name, value] of Object.entries({ rounds, durationSeconds, connections })) {
    if (!(Number.isInteger(value) && value >= 1))
      throw new RangeError(`--${name} must be a whole number >= 1`);
  }
  const machine = describeMachine();
  const loadAtStart = loadNow();
  const cpuAccounting = startCpuAccounting();
  process.stderr.write(`${formatMachine(machine)}; load average ${loadAtStart.toFixed(2)} at start\n`);

  const unavailable: string[] = [];
  let engines = ENGINES.filter((engine) => !only || only.includes(engine.id));
  if (!pythonModuleAvailable('fastapi, uvicorn, multipart, torch, PIL')) {
    unavailable.push(
      `the FastAPI + PyTorch peer (${DEBIAN_PYTHON} lacks its Debian packages); install with: ${aptInstallCommand(PEER_PACKAGES)}`,
    );
    engines = engines.filter((engine) => engine.kind !== 'peer');
  }
  for (const line of unavailable) process.stderr.write(`left out: ${line}\n`);
  if (engines.some((engine) => engine.id.startsWith('tfjs-bundle'))) {
    process.stderr.write(`built ${await buildServer()}\n`);
  }
  const bundle = await benchBundle(option(args, 'model'));
  process.stderr.write(`serving ${bundle.description}\n`);
  const requests: Record<RequestKind, LoadRequest> = {
    predict: multipartDigit(),
    oip: await oipDigit(bundle),
  };
  const loadFor = (engine: ServeEngine): LoadOptions => ({
    connections,
    durationSeconds,
    warmupSeconds: quick ? 1 : 3,
    request: requests[engine.request],
  });

  const contenders: Contender<ServeSample>[] = engines.map((engine) => ({
    id: engine.id,
    measure: async () => {
      const port = await freePort();
      const scratch = mkdtempSync(join(tmpdir(), `bench-serve-${engine.id}-`));
      let sample: ServeSample;
      try {
        sample = await measureRun(
          engine.id,
          engine.command(port, bundle.uri, scratch),
          port,
          loadFor(engine),
        );
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
      const figures = sample.load!;
      process.stderr.write(
        `  ${figures.requestsPerSecond.toFixed(0)} req/s, p50 ${figures.latencyP50Ms} ms, p99 ${figures.latencyP99Ms} ms, ${figures.errors + figures.non2xx} errors, RSS ${figures.rssPeakMb.toFixed(0)} MB, cold start ${sample.coldStartMs.toFixed(0)} ms\n`,
      );
      return { sample };
    },
  }));
  if (!only || only.includes('pnpm-serve')) {
    contenders.push({
      id: 'pnpm-serve',
      measure: async () => {
        const port = await freePort();
        const sample = await measureColdStart(pnpmServe(port, bundle.uri), port);
        process.stderr.write(`  cold start ${sample.coldStartMs.toFixed(0)} ms\n`);
        return { sample };
      },
    });
  }
  const outcome = await runRounds(contenders, rounds, (round, id) =>
    process.stderr.write(`round ${round + 1}/${rounds}: ${id} (load ${loadNow().toFixed(2)})\n`),
  );

  let soak: SoakResult | null = null;
  const ours = engines.find((engine) => engine.id === 'tfjs');
  if (soakRequests > 0 && ours) {
    process.stderr.write(`soak: ${soakRequests} requests to one process of ${ours.label}...\n`);
    const port = await freePort();
    const sample = await measureRun(ours.id, ours.command(port, bundle.uri, tmpdir()), port, {
      ...loadFor(ours),
      warmupSeconds: 1,
      amount: soakRequests,
    });
    const figures = sample.load!;
    soak = {
      label: ours.label,
      requests: figures.requests,
      errors: figures.errors + figures.non2xx,
      tensorsBefore: figures.tensorsBefore,
      tensorsAfter: figures.tensorsAfter,
      rssPeakMb: figures.rssPeakMb,
    };
  }

  const rows: ServeRow[] = [
    ...engines.map((engine) => ({
      id: engine.id,
      label: engine.label,
      side: engine.kind === 'tfjs' ? ('ours' as const) : ('peer' as const),
      samples: outcome.samples.get(engine.id) ?? [],
    })),
    {
      id: 'pnpm-serve',
      label: '`pnpm serve`',
      side: 'ours' as const,
      samples: outcome.samples.get('pnpm-serve') ?? [],
    },
  ];
  unavailable.push(...outcome.unavailable.values());
  const date = new Date();
  const load = {
    start: loadAtStart,
    end: loadNow(),
    cores: machine.cores,
    othersCpuShare: cpuAccounting.stop(),
  };
  const report = renderServeReport({
    date: date.toISOString(),
    machine,
    load,
    rounds,
    connections,
    durationSeconds,
    bundle: bundle.description,
    rows,
    soak,
    unavailable,
  });
  process.stdout.write(`\n${report.table}\n\n`);
  process.stdout.write(
    `${report.markdown
      .split('\n')
      .filter((line) => line.startsWith('- '))
      .join('\n')}\n`,
  );
  if (report.warning) process.stdout.write(`\n${report.warning}\n`);
  // A run of some engines only (--engines) is a focused comparison: its own name, so serve-latest.json stays the run
  // the README's table comes from.
  const file = writeResults(
    quick ? 'serve-quick' : only ? 'serve-engines' : 'serve',
    {
      date: date.toISOString(),
      machine,
      loadAverage: load,
      quick,
      bundle: bundle.description,
      options: { rounds, durationSeconds, connections, soakRequests, engines: only ?? null },
      order: outcome.order,
      rows,
      soak,
      unavailable,
    },
    date,
  );
  process.stdout.write(`results: ${file}\n`);
  if (!quick && !only) updateReadmeSection('serve', report.markdown);
}
