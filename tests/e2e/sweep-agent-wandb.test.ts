// One trial of configs/sweeps/exp1-lr.yaml exactly as `wandb agent` starts it: the repository's sweep file, unchanged,
// its command with the macros expanded, WANDB_SWEEP_ID / WANDB_RUN_ID / WANDB_SWEEP_PARAM_PATH in the environment.
// It trains for real (exp1 in miniature, in a scratch workspace) and reports to the W&B contract server, which must
// see the run created in the sweep, under the agent's run id, with its history; exp1's latest.json must not move.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agentEnvironment,
  buildAgentCommand,
  runArgsFor,
} from '../../packages/model/src/sweep/agent-command.ts';
import { loadSweepFile } from '../../packages/model/src/sweep/sweep-file.ts';
import { startTrialProcess } from '../../packages/model/src/sweep/trial-process.ts';
import { WandbServer } from '../support/wandb-server/index.ts';
import { createSweepWorkspace, filesUnder, SERVED_LATEST, SERVED_LATEST_TEXT } from './sweep-workspace.ts';

const KEY = 'k'.repeat(40);
const SWEEP_ID = 'swp12345';
const RUN_ID = 'trial001';

let workspace: string;
const server = new WandbServer({ apiKeys: [KEY], entity: 'team' });
beforeAll(async () => {
  workspace = await createSweepWorkspace('e2e-sweep-agent-');
  await server.start();
});
afterAll(async () => {
  await server.stop();
  rmSync(workspace, { recursive: true, force: true });
});

describe('a trial of exp1-lr.yaml started the way wandb agent starts it', () => {
  it('trains with the expanded command, outputs under the sweep, and W&B gets the run in the sweep with its history', async () => {
    const sweep = loadSweepFile(join(workspace, 'configs', 'sweeps', 'exp1-lr.yaml'));
    // The agent's environment: the machine's, minus any W&B settings of whoever runs the tests.
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WANDB_')));
    const env = agentEnvironment({
      base: {
        ...base,
        WANDB_API_KEY: KEY,
        WANDB_BASE_URL: server.baseUrl,
        WANDB_PROJECT: 'sweeps',
        LOG_LEVEL: 'warn',
      },
      sweepId: SWEEP_ID,
      runId: RUN_ID,
      paramPath: join(workspace, 'wandb', `sweep-${SWEEP_ID}`, `config-${RUN_ID}.yaml`),
      dir: workspace,
    });
    // What W&B's controller would hand the agent for one trial of this file.
    const argv = buildAgentCommand({
      command: sweep.command,
      program: sweep.program,
      args: runArgsFor([
        { path: ['train.learningRate'], value: 0.003 },
        { path: ['train.batchSize'], value: 16 },
        { path: ['train.epochs'], value: 1 },
      ]),
      env,
      platform: 'linux',
    });
    expect(argv).toEqual([
      '/usr/bin/env',
      'node',
      '--import',
      'tsx',
      'packages/model/src/cli.ts',
      'train',
      '--config',
      'configs/exp1.yaml',
      `train.outputDir=sweeps/exp1-lr/${SWEEP_ID}/runs`,
      `export.uri=sweeps/exp1-lr/${SWEEP_ID}/bundles`,
      'train.evaluation.pictures=false',
      'train.batchSize=16',
      'train.epochs=1',
      'train.learningRate=0.003',
    ]);

    const log = join(workspace, 'trial.log');
    const trial = startTrialProcess({ argv, env, cwd: workspace, logFile: log });
    const exit = await trial.done;
    expect(exit.code, readFileSync(log, 'utf8')).toBe(0);

    // W&B: the run under the agent's run id, created in the sweep (the first UpsertBucket for it names the sweep),
    // with one epoch of history and the summary.
    const run = server.runs.get(`team/sweeps/${RUN_ID}`);
    expect(run, `runs on the server: ${[...server.runs.keys()].join(', ')}`).toBeDefined();
    expect(run!.sweep).toBe(SWEEP_ID);
    const upserts = server.requests.filter(
      (r) =>
        r.operation === 'UpsertBucket' &&
        (r.body as { variables?: { name?: string } }).variables?.name === RUN_ID,
    );
    expect((upserts[0]!.body as { variables: { sweep?: string } }).variables.sweep).toBe(SWEEP_ID);
    expect(run!.history).toHaveLength(1);
    expect(run!.history[0]).toMatchObject({ epoch: 1, val_accuracy: expect.any(Number) });
    expect(run!.complete).toBe(true);

    // Locally: the run and the bundle under the sweep, no pictures, exp1's served latest.json untouched.
    const sweepDir = join(workspace, 'sweeps', 'exp1-lr', SWEEP_ID);
    const [runDir] = readdirSync(join(sweepDir, 'runs', 'exp1'));
    const summary = JSON.parse(readFileSync(join(sweepDir, 'runs', 'exp1', runDir!, 'summary.json'), 'utf8'));
    expect(summary.tracking.wandb).toMatchObject({ status: 'ok', run_id: RUN_ID, sweep_id: SWEEP_ID });
    expect(summary.model_uri).toMatch(new RegExp(`^sweeps/exp1-lr/${SWEEP_ID}/bundles/exp1/[^/]+$`));
    expect(filesUnder(join(workspace, summary.model_uri))).toContain('bundle.json');
    expect(filesUnder(join(sweepDir, 'runs')).filter((f) => f.endsWith('.png'))).toEqual([]);
    expect(readFileSync(join(workspace, SERVED_LATEST), 'utf8')).toBe(SERVED_LATEST_TEXT);
    expect(filesUnder(join(workspace, 'artifacts'))).toEqual(['models/exp1/latest.json']);
  }, 120_000);
});
