/**
 * `pnpm run gpu-check [--config exp1.yaml] [key=value ...]` (in the trainer image: `docker run --gpus all trainer:latest
 * gpu-check`): trains the experiment for one epoch on tensorflow-gpu and once more with the GPU hidden, prints
 * images/s and test accuracy side by side, and exits 1 when the GPU was not used. Each leg is a `pnpm train` process
 * of its own (libtensorflow's device visibility is fixed per process), writing runs and the bundle to a temporary
 * directory and nothing to W&B.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseExperimentArgs, runCli } from '@tfmlops/core';
import { type LegPlan, runGpuCheck } from './run-gpu-check.ts';
import type { GpuCheckLeg } from './verdict.ts';

const TRAIN_CLI = fileURLToPath(new URL('../cli.ts', import.meta.url));

await runCli(async () => {
  const args = parseExperimentArgs(process.argv.slice(2));
  const config = args.configFile ?? 'configs/exp1.yaml';
  const scratch = mkdtempSync(join(tmpdir(), 'gpu-check-'));
  try {
    const result = await runGpuCheck(args.overrides, (plan) => trainLeg(config, plan, scratch));
    process.stdout.write(`\n${result.lines.join('\n')}\n`);
    return result.gpuUsed ? 0 : 1;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

async function trainLeg(config: string, plan: LegPlan, scratch: string): Promise<GpuCheckLeg> {
  const out = join(scratch, plan.label.replace(/\W+/g, '-'));
  const argv = [
    '--import',
    'tsx',
    TRAIN_CLI,
    'train',
    '--config',
    config,
    ...plan.overrides,
    `train.outputDir=${join(out, 'runs')}`,
    `export.uri=${join(out, 'models')}`,
  ];
  process.stderr.write(
    `gpu-check: ${plan.label}: pnpm train --config ${config} ${plan.overrides.join(' ')}\n`,
  );
  const started = performance.now();
  const { code, log } = await runNode(argv, { ...process.env, WANDB_MODE: 'disabled', ...plan.env });
  const seconds = (performance.now() - started) / 1000;
  const summary = code === 0 ? findSummary(join(out, 'runs')) : undefined;
  return {
    label: plan.label,
    backend: summary?.backend,
    imagesPerSecond: summary?.train_images_per_second,
    testAccuracy: summary?.test_accuracy,
    seconds,
    log,
    ...(code === 0 ? {} : { error: lastErrorLine(log) ?? `pnpm train exited with ${code}` }),
  };
}

/** Runs node, echoing its output to stderr as it comes (the first CUDA start can take minutes) and keeping it. */
function runNode(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; log: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const keep = (chunk: Buffer) => {
      log += chunk.toString('utf8');
      process.stderr.write(chunk);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), log }));
  });
}

interface Summary {
  backend?: string;
  train_images_per_second?: number;
  test_accuracy?: number;
}

/** The run's summary.json: `<outputDir>/<experiment>/<run>/summary.json`. */
function findSummary(runsDir: string): Summary | undefined {
  for (const experiment of safeList(runsDir)) {
    for (const run of safeList(join(runsDir, experiment))) {
      try {
        return JSON.parse(readFileSync(join(runsDir, experiment, run, 'summary.json'), 'utf8'));
      } catch {
        // not a finished run directory
      }
    }
  }
  return undefined;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The error a CLI failure ends with (`error [CODE]: message` and its indented detail lines, not the hint). */
function lastErrorLine(log: string): string | undefined {
  const lines = log.split('\n');
  const at = lines.findLastIndex((line) => /^error\b|^\w*Error:/.test(line.trim()));
  if (at < 0) return undefined;
  const detail = lines
    .slice(at + 1)
    .filter((line, i, all) => /^\s+\S/.test(line) && all.slice(0, i + 1).every((l) => /^\s+\S/.test(l)));
  return [lines[at]!, ...detail.filter((line) => !/^\s+hint:/.test(line))]
    .map((line) => line.trim())
    .join(' ');
}
