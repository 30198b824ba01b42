import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LegPlan } from './run-gpu-check.ts';
import type { GpuCheckLeg } from './verdict.ts';

export interface TrainLegOptions {
  /** How to start `pnpm train`: node arguments before `train` (the model CLI through tsx's loader). */
  trainCommand: string[];
  /** Where the leg's runs and bundle go (a fresh directory per leg). */
  scratch: string;
  env: NodeJS.ProcessEnv;
  /** Where the training output goes as it comes (the first CUDA start can take minutes). */
  echo: NodeJS.WritableStream;
}

/**
 * One leg: `pnpm train --config <config> <overrides> train.epochs=1 ...` in a process of its own, with runs and the
 * bundle in the scratch directory and W&B off; reads the run's summary.json.
 */
export async function trainLeg(
  config: string,
  plan: LegPlan,
  options: TrainLegOptions,
): Promise<GpuCheckLeg> {
  const out = join(options.scratch, plan.label.replace(/\W+/g, '-'));
  const argv = [
    ...options.trainCommand,
    'train',
    '--config',
    config,
    ...plan.overrides,
    `train.outputDir=${join(out, 'runs')}`,
    `export.uri=${join(out, 'models')}`,
  ];
  options.echo.write(`gpu-check: ${plan.label}: pnpm train --config ${config} ${plan.overrides.join(' ')}\n`);
  const started = performance.now();
  const { code, log } = await runNode(
    argv,
    { ...options.env, WANDB_MODE: 'disabled', ...plan.env },
    options.echo,
  );
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
function runNode(
  argv: string[],
  env: NodeJS.ProcessEnv,
  echo: NodeJS.WritableStream,
): Promise<{ code: number; log: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const keep = (chunk: Buffer) => {
      log += chunk.toString('utf8');
      echo.write(chunk);
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
