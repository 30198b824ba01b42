import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStorage } from '@tfmlops/core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agentEnvironment,
  buildAgentCommand,
  runArgsFor,
} from '../../packages/model/src/sweep/agent-command.ts';
import { loadSweepExperiment } from '../../packages/model/src/sweep/experiment.ts';
import { loadSweepFile } from '../../packages/model/src/sweep/sweep-file.ts';
import { startTrialProcess } from '../../packages/model/src/sweep/trial-process.ts';
import { WandbServer } from '../support/wandb-server/index.ts';

// One trial exactly as `wandb agent` starts it (the file's command with its macros expanded, WANDB_RUN_ID and
// WANDB_SWEEP_ID in the environment), training for real on tiny images, reporting to the W&B contract server.
const ROOT = join(import.meta.dirname, '..', '..');
const EXPERIMENT = join(ROOT, 'configs', 'exp1.yaml');
const KEY = 'k'.repeat(40);

/** The W&B Tracker reaches `pnpm train` with the training issue; until then this test has nothing to check. */
function trainReportsToWandb(): boolean {
  try {
    loadSweepExperiment(EXPERIMENT, ['tracking.wandb=auto'], {});
    return true;
  } catch (error) {
    return !(error instanceof Error && error.message.includes('unknown key'));
  }
}
const ready = trainReportsToWandb();
if (!ready) {
  console.warn(
    'skipping the W&B agent trial test: pnpm train has no `tracking` section yet (the training issue adds it)',
  );
}

let dir: string;
const server = new WandbServer({ apiKeys: [KEY], entity: 'team' });
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'e2e-sweep-agent-'));
  const storage = createStorage();
  for (const [label, name] of ['top', 'bottom'].entries()) {
    for (let i = 0; i < 24; i += 1) {
      const pixels = Buffer.alloc(16 * 16);
      for (let p = 0; p < pixels.length; p += 1)
        pixels[p] = (p < 128 === (label === 0) ? 180 : 20) + ((p * 31 + i * 17) % 60);
      await storage.write(
        join(dir, 'images', name, `${i}.png`),
        await sharp(pixels, { raw: { width: 16, height: 16, channels: 1 } })
          .png()
          .toBuffer(),
      );
    }
  }
  await server.start();
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a trial started the way wandb agent starts it', () => {
  it.skipIf(!ready)(
    'trains with the expanded command and reports its epochs to W&B under WANDB_RUN_ID',
    async () => {
      const file = join(dir, 'sweep.yaml');
      writeFileSync(
        file,
        `method: random
metric: {name: val_accuracy, goal: maximize}
parameters:
  train.learningRate: {values: [0.003]}
  train.batchSize: {values: [16]}
command:
  - \${env}
  - node
  - --import
  - tsx
  - packages/model/src/cli.ts
  - train
  - --config
  - ${EXPERIMENT}
  - runtime.backend=wasm
  - runtime.dataParallelWorkers=0
  - "data.source={kind: imagefolder, path: ${join(dir, 'images')}}"
  - data.outputDir=${join(dir, 'processed')}
  - data.split.testFraction=0.2
  - "data.preprocess={width: 16, height: 16, channels: 1}"
  - train.epochs=1
  - train.evaluation.pictures=false
  - train.outputDir=${dir}/\${envvar:WANDB_SWEEP_ID}/runs
  - export.uri=${dir}/\${envvar:WANDB_SWEEP_ID}/bundles
  - \${args_no_hyphens}
`,
      );
      const sweep = loadSweepFile(file);
      const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WANDB_')));
      const env = agentEnvironment({
        base: { ...base, WANDB_API_KEY: KEY, WANDB_BASE_URL: server.baseUrl, WANDB_PROJECT: 'sweeps' },
        sweepId: 'swp12345',
        runId: 'trial001',
        paramPath: join(dir, 'wandb', 'sweep-swp12345', 'config-trial001.yaml'),
        dir,
      });
      const argv = buildAgentCommand({
        command: sweep.command,
        program: sweep.program,
        args: runArgsFor([
          { path: ['train.batchSize'], value: 16 },
          { path: ['train.learningRate'], value: 0.003 },
        ]),
        env,
      });
      expect(argv.slice(-4)).toEqual([
        `train.outputDir=${dir}/swp12345/runs`,
        `export.uri=${dir}/swp12345/bundles`,
        'train.batchSize=16',
        'train.learningRate=0.003',
      ]);
      const trial = startTrialProcess({ argv, env, cwd: ROOT, logFile: join(dir, 'trial.log') });
      const exit = await trial.done;
      expect(exit.code, `see ${join(dir, 'trial.log')}`).toBe(0);
      const run = server.runs.get('trial001') ?? [...server.runs.values()].find((r) => r.id === 'trial001');
      expect(run, 'a W&B run named by WANDB_RUN_ID').toBeDefined();
      expect(run!.project).toBe('sweeps');
      expect(run!.history).toHaveLength(1);
      expect(run!.history[0]).toMatchObject({ epoch: 1, val_accuracy: expect.any(Number) });
    },
  );
});
