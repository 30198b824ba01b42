/**
 * `pnpm run gpu-check [--config exp1.yaml] [key=value ...]` (in the trainer image: `docker run --gpus all trainer:latest
 * gpu-check`): trains the experiment for one epoch on tensorflow-gpu and once more with the GPU hidden, prints
 * images/s and test accuracy side by side, and exits 1 when the GPU was not used. Each leg is a `pnpm train` process
 * of its own (libtensorflow's device visibility is fixed per process), writing runs and the bundle to a temporary
 * directory and nothing to W&B.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseExperimentArgs, runCli } from '@tfmlops/core';
import { runGpuCheck } from './run-gpu-check.ts';
import { trainLeg } from './train-leg.ts';

const TRAIN_CLI = fileURLToPath(new URL('../cli.ts', import.meta.url));

await runCli(async () => {
  const args = parseExperimentArgs(process.argv.slice(2));
  const config = args.configFile ?? 'configs/exp1.yaml';
  const scratch = mkdtempSync(join(tmpdir(), 'gpu-check-'));
  try {
    const result = await runGpuCheck(args.overrides, (plan) =>
      trainLeg(config, plan, {
        trainCommand: ['--import', 'tsx', TRAIN_CLI],
        scratch,
        env: process.env,
        echo: process.stderr,
      }),
    );
    process.stdout.write(`\n${result.lines.join('\n')}\n`);
    return result.gpuUsed ? 0 : 1;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});
