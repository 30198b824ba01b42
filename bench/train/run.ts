/**
 * `pnpm bench train`: the reference CNN (batch 64, Adam, 28x28x1) on every TF.js engine that starts here, side by
 * side with the same network in PyTorch on CPU, in one run. Training images/s, batch inference images/s and
 * single-image latency; a table on stdout, JSON under bench/results/, the table in bench/README.md.
 *
 * Each engine runs in its own child process, and the engines take turns over several rounds (the median round is
 * reported) so that a burst of load from elsewhere on the machine does not land on one engine only.
 *
 *   pnpm bench train [--quick] [--rounds N] [--profile]
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configureWasmBackend, realMachineProbes, selectBackend } from '@tfmlops/runtime';
import {
  BENCH_DIR,
  DEBIAN_PYTHON,
  describeMachine,
  ensurePythonModule,
  updateReadmeSection,
  writeResults,
} from '../lib/report.ts';
import { ENGINES } from './engines.ts';
import { referenceCnn, type TrainBenchResult } from './measure.ts';
import { profileTrainingStep } from './profile.ts';
import { renderReport } from './report.ts';

const ENGINE_SCRIPT = fileURLToPath(new URL('./engine.ts', import.meta.url));
const TORCH_THREADS = 2;

export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const roundsArg = args.indexOf('--rounds');
  const rounds = roundsArg >= 0 ? Number(args[roundsArg + 1]) : quick ? 1 : 3;
  if (args.includes('--profile')) {
    const threads = args.includes('--threads') ? Number(args[args.indexOf('--threads') + 1]) : 2;
    await configureWasmBackend({ threads });
    await selectBackend({ backend: 'wasm' }, { probes: realMachineProbes({}) });
    const { stepMs, table } = await profileTrainingStep(referenceCnn());
    process.stdout.write(
      `wasm, ${threads} thread(s), batch 64: ${stepMs.toFixed(1)} ms per profiled step\n\n${table}\n`,
    );
    return;
  }
  const machine = describeMachine();
  const loadAtStart = loadavg()[0]!;
  const samples = new Map<string, TrainBenchResult[]>();
  const unavailable = new Set<string>();
  const torchAvailable = ensurePythonModule('torch', 'python3-torch');
  if (!torchAvailable)
    unavailable.add('pytorch: python3-torch is not installed and apt-get could not install it');
  for (let round = 0; round < rounds; round += 1) {
    for (const [id, spec] of Object.entries(ENGINES)) {
      if (round >= spec.rounds) continue;
      process.stderr.write(`round ${round + 1}/${rounds}: ${spec.label}...\n`);
      const outcome = measureEngine(id, quick);
      if ('unavailable' in outcome) unavailable.add(outcome.unavailable);
      else samples.set(spec.label, [...(samples.get(spec.label) ?? []), outcome.result]);
    }
    if (torchAvailable) {
      process.stderr.write(`round ${round + 1}/${rounds}: pytorch...\n`);
      const out = execFileSync(
        DEBIAN_PYTHON,
        [join(BENCH_DIR, 'peers', 'torch_train.py'), String(TORCH_THREADS), quick ? '5' : '40'],
        { encoding: 'utf8' },
      );
      const result = JSON.parse(out) as TrainBenchResult;
      samples.set(result.engine, [...(samples.get(result.engine) ?? []), result]);
    }
  }
  process.stderr.write('profiling a training step...\n');
  const profile = quick ? undefined : profileEngine();
  const loadAtEnd = loadavg()[0]!;
  const results = [...samples.values()].map(medianRound);
  const noise = `load average ${loadAtEnd.toFixed(2)} at end; ${rounds} round(s), median round per engine`;
  const { table, markdown } = renderReport({
    results,
    unavailable: [...unavailable],
    machine,
    noise,
    profile,
  });
  process.stdout.write(`\n${table}\n\n${machine}\n${noise}\n`);
  for (const line of unavailable) process.stdout.write(`unavailable: ${line}\n`);
  const file = writeResults(quick ? 'train-quick' : 'train', {
    machine,
    date: new Date().toISOString(),
    quick,
    rounds,
    loadAverage: { start: loadAtStart, end: loadAtEnd },
    results,
    profile,
    samples: Object.fromEntries(samples),
    unavailable: [...unavailable],
  });
  process.stdout.write(`results: ${file}\n`);
  if (!quick) updateReadmeSection('train', markdown);
}

function measureEngine(id: string, quick: boolean): { result: TrainBenchResult } | { unavailable: string } {
  const out = execFileSync(
    process.execPath,
    [...process.execArgv, ENGINE_SCRIPT, id, ...(quick ? ['--quick'] : [])],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const line = out.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as { result: TrainBenchResult } | { unavailable: string };
}

function profileEngine(): { label: string; stepMs: number; rows: Array<[string, number]> } {
  const out = execFileSync(
    process.execPath,
    [...process.execArgv, ENGINE_SCRIPT, 'wasm-2t-lean', '--profile'],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return (JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { profile: ReturnType<typeof profileEngine> })
    .profile;
}

/** The round whose training throughput is the median of the engine's rounds (all its figures come from it). */
function medianRound(rounds: TrainBenchResult[]): TrainBenchResult {
  const sorted = [...rounds].sort((a, b) => a.trainImagesPerSecond - b.trainImagesPerSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}
