/**
 * `pnpm bench train`: the reference CNN (batch 64, Adam, 28x28x1) on every TF.js backend that starts here, side by
 * side with the same network in PyTorch on CPU, in one run. Training images/s, batch inference images/s and
 * single-image latency; a table on stdout, JSON under bench/results/, the table in bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { realMachineProbes, selectBackend } from '@tfmlops/core';
import {
  BENCH_DIR,
  DEBIAN_PYTHON,
  describeMachine,
  ensurePythonModule,
  markdownTable,
  updateReadmeSection,
  writeResults,
} from '../lib/report.ts';
import { measureCurrentBackend, referenceCnn, type TrainBenchResult } from './measure.ts';
import { profileTrainingStep } from './profile.ts';

const CORES = availableParallelism();
const PLAN = [
  { backend: 'tensorflow', trainSteps: 40, latencyRuns: 200, workers: 0 },
  { backend: 'wasm', trainSteps: 40, latencyRuns: 200, workers: 0 },
  { backend: 'wasm', trainSteps: 40, latencyRuns: 200, workers: CORES - 1 },
  { backend: 'cpu', trainSteps: 2, latencyRuns: 10, workers: 0 },
] as const;

export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  if (args.includes('--profile')) {
    await selectBackend({ backend: 'wasm' }, { probes: realMachineProbes({}) });
    const { stepMs, table } = await profileTrainingStep(referenceCnn());
    process.stdout.write(`wasm, batch 64: ${stepMs.toFixed(1)} ms per profiled step\n\n${table}\n`);
    return;
  }
  const machine = describeMachine();
  const results: TrainBenchResult[] = [];
  const unavailable: string[] = [];
  const probes = realMachineProbes({});
  for (const { backend, trainSteps, latencyRuns, workers } of PLAN) {
    if (backend === 'wasm' && workers > 0 && CORES < 2) continue;
    try {
      await selectBackend({ backend }, { probes });
    } catch (error) {
      unavailable.push(`${backend}: ${(error as Error).message}`);
      continue;
    }
    const engine = workers > 0 ? `tfjs ${backend} + ${workers} data-parallel worker(s)` : `tfjs ${backend}`;
    process.stderr.write(`measuring ${engine}...\n`);
    results.push(
      await measureCurrentBackend(
        engine,
        quick ? Math.min(trainSteps, 5) : trainSteps,
        quick ? 20 : latencyRuns,
        workers,
      ),
    );
  }
  if (ensurePythonModule('torch', 'python3-torch')) {
    process.stderr.write('measuring pytorch...\n');
    const out = execFileSync(
      DEBIAN_PYTHON,
      [join(BENCH_DIR, 'peers', 'torch_train.py'), '2', quick ? '5' : '40'],
      { encoding: 'utf8' },
    );
    results.push(JSON.parse(out) as TrainBenchResult);
  } else {
    unavailable.push('pytorch: python3-torch not installable here');
  }

  const torch = results.find((r) => r.engine.startsWith('pytorch'));
  const ratio = (value: number, base: number | undefined) => (base ? `${(value / base).toFixed(2)}x` : 'n/a');
  const rows = results.map((r) => [
    r.engine,
    r.trainImagesPerSecond.toFixed(0),
    ratio(r.trainImagesPerSecond, torch?.trainImagesPerSecond),
    r.inferImagesPerSecond.toFixed(0),
    ratio(r.inferImagesPerSecond, torch?.inferImagesPerSecond),
    r.latencyP50Ms.toFixed(2),
    r.latencyP99Ms.toFixed(2),
  ]);
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
    rows,
  );
  process.stdout.write(`\n${table}\n\n${machine}\n`);
  for (const line of unavailable) process.stdout.write(`unavailable: ${line}\n`);
  const file = writeResults(quick ? 'train-quick' : 'train', {
    machine,
    date: new Date().toISOString(),
    quick,
    results,
    unavailable,
  });
  process.stdout.write(`results: ${file}\n`);
  if (!quick) {
    updateReadmeSection(
      'train',
      `## Training: reference CNN (\`pnpm bench train\`)\n\nConv 3x3x32 valid + ReLU, maxpool 2, conv 3x3x64 valid + ReLU, maxpool 2, dense 128 + ReLU, dense 10; float32, batch 64, Adam, 28x28x1 synthetic input. Measured ${new Date().toISOString().slice(0, 10)} on ${machine}.\n\n${table}\n\n${unavailable.map((u) => `- unavailable: ${u}`).join('\n')}`,
    );
  }
}
