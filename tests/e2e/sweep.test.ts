import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createStorage } from '@tfmlops/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  agentEnvironment,
  buildAgentCommand,
  runArgsFor,
} from '../../packages/model/src/sweep/agent-command.ts';
import { loadSweepExperiment } from '../../packages/model/src/sweep/experiment.ts';
import { runSweep, type SweepEvent } from '../../packages/model/src/sweep/run-sweep.ts';
import { loadSweepFile } from '../../packages/model/src/sweep/sweep-file.ts';
import { planSweep } from '../../packages/model/src/sweep/sweep-plan.ts';
import type { SweepState } from '../../packages/model/src/sweep/sweep-state.ts';
import { startTrialProcess } from '../../packages/model/src/sweep/trial-process.ts';
import { writeResults } from '../../packages/model/src/sweep/write-results.ts';

// These tests run the real runner, with real child processes, on a stand-in for `pnpm train` (sweep-fake-trial.mjs)
// that writes metrics.jsonl and summary.json as training does, in tens of milliseconds per epoch.
const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const FAKE = join(import.meta.dirname, 'sweep-fake-trial.mjs');
const EXPERIMENT = join(ROOT, 'configs', 'exp1.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'e2e-sweep-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let sweeps = 0;
function sweepFile(body: string): string {
  sweeps += 1;
  const file = join(tmp, `sweep-${sweeps}.yaml`);
  writeFileSync(
    file,
    `${body}
command:
  - \${env}
  - node
  - ${FAKE}
  - --config
  - ${EXPERIMENT}
  - \${args_no_hyphens}
`,
  );
  return file;
}

function newState(id: string, plan: ReturnType<typeof planSweep>, seed = 1): SweepState {
  const now = new Date().toISOString();
  return {
    formatVersion: 1,
    id,
    name: 'test',
    method: plan.method,
    seed,
    experimentFile: plan.experimentFile,
    trialCount: plan.trialCount,
    status: 'running',
    createdAt: now,
    updatedAt: now,
    trials: [],
  };
}

async function sweepOnce(
  file: string,
  options: {
    parallel?: number;
    env?: Record<string, string>;
    state?: SweepState;
    dir?: string;
    signal?: AbortSignal;
    onEvent?: (e: SweepEvent, s: SweepState) => void;
  } = {},
) {
  const sweep = loadSweepFile(file);
  const env = { ...process.env, ...options.env };
  const loadExperiment = (f: string, o: readonly string[]) => loadSweepExperiment(f, o, env);
  const plan = planSweep(sweep, file, { loadExperiment, env });
  const dir = options.dir ?? join(tmp, `out-${sweeps}`);
  const state = options.state ?? newState(`s${sweeps}`, plan);
  const storage = createStorage();
  const final = await runSweep({
    sweep,
    plan,
    state,
    dir,
    parallel: options.parallel ?? 2,
    storage,
    loadExperiment,
    env,
    cwd: ROOT,
    pollMs: 25,
    graceMs: 5000,
    signal: options.signal,
    onEvent: options.onEvent,
  });
  return { sweep, plan, dir, state: final, storage };
}

describe('a local sweep of child-process trials', () => {
  it('runs a random sweep two at a time, writes results sorted, plots, and the best bundle stays under the sweep', async () => {
    const file = sweepFile(`
method: random
metric: {name: val_accuracy, goal: maximize}
run_cap: 4
parameters:
  train.learningRate: {distribution: log_uniform_values, min: 0.0001, max: 0.1}
  train.batchSize: {values: [32, 64, 128]}
  train.epochs: {value: 2}
`);
    let concurrent = 0;
    let maxConcurrent = 0;
    const { sweep, dir, state, storage } = await sweepOnce(file, {
      parallel: 2,
      onEvent: (e) => {
        if (e.type === 'started') maxConcurrent = Math.max(maxConcurrent, ++concurrent);
        if (e.type === 'ended') concurrent -= 1;
      },
    });
    expect(state.status).toBe('finished');
    expect(state.trials.map((t) => t.status)).toEqual(['finished', 'finished', 'finished', 'finished']);
    expect(maxConcurrent).toBe(2);
    for (const trial of state.trials) {
      expect(trial.epochs).toBe(2);
      expect(trial.runDir!.startsWith(join(dir, 'trials', trial.id, 'runs'))).toBe(true);
      const invocation = JSON.parse(readFileSync(join(trial.runDir!, 'invocations.jsonl'), 'utf8').trim());
      // The agent's argv: parameters as key=value in name order, then the sweep's own output keys.
      expect(invocation.argv.slice(0, 5)).toEqual([
        '--config',
        EXPERIMENT,
        `train.batchSize=${trial.params['train.batchSize']}`,
        'train.epochs=2',
        expect.stringMatching(/^train\.learningRate=/),
      ]);
      expect(invocation.argv).toContain(`train.outputDir=${join(dir, 'trials', trial.id, 'runs')}`);
      expect(invocation.env).toEqual({
        WANDB_RUN_ID: `${state.id}-${trial.id}`,
        WANDB_SWEEP_ID: null,
        WANDB_RUN_GROUP: `sweep-test-${state.id}`,
      });
    }
    const results = await writeResults({
      state,
      parameters: sweep.parameters,
      metric: sweep.metric,
      dir,
      storage,
      renderChart: async (spec) => (await import('@tfmlops/data')).renderChartPng(spec),
    });
    const csv = readFileSync(results.csv, 'utf8').trim().split('\n');
    expect(csv[0]).toBe(
      'trial,train.batchSize,train.learningRate,val_accuracy,status,epochs,test_accuracy,model_uri,run_dir,log,error',
    );
    expect(csv).toHaveLength(5);
    const markdown = readFileSync(results.markdown, 'utf8');
    const ranked = [...markdown.matchAll(/^\| (\d) \| (\d{3}) \|/gm)].map((m) => m[2]);
    const byMetric = [...state.trials].sort((a, b) => b.metric! - a.metric!).map((t) => t.id);
    expect(ranked).toEqual(byMetric);
    expect(results.best!.id).toBe(byMetric[0]);
    expect(results.best!.modelUri!.startsWith(join(dir, 'trials'))).toBe(true);
    expect(markdown).toContain(`Its bundle: \`${results.best!.modelUri}\``);
    expect(results.plots.map((p) => p.slice(dir.length + 1))).toEqual([
      'plots/val_accuracy-vs-train.batchSize.png',
      'plots/val_accuracy-vs-train.learningRate.png',
      'plots/parallel-coordinates.png',
    ]);
    for (const plot of results.plots) expect(readFileSync(plot).subarray(1, 4).toString()).toBe('PNG');
    expect(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).trials).toHaveLength(4);
  });

  it('records a crashing trial as failed with its log, and goes on with the others', async () => {
    const file = sweepFile(`
method: grid
metric: {name: val_accuracy, goal: maximize}
parameters:
  train.batchSize: {values: [32, 128, 64]}
  train.epochs: {value: 1}
`);
    const { state } = await sweepOnce(file, { parallel: 1, env: { FAKE_CRASH_BATCH: '128' } });
    expect(state.trials.map((t) => [t.params['train.batchSize'], t.status])).toEqual([
      [32, 'finished'],
      [128, 'failed'],
      [64, 'finished'],
    ]);
    const failed = state.trials[1]!;
    expect(failed.exitCode).toBe(1);
    expect(failed.error).toBe(`exited with code 1; see ${failed.log}`);
    expect(readFileSync(failed.log, 'utf8')).toMatch(
      /out of memory at batch size 128[\s\S]*\[sweep\] exited with code 1/,
    );
  });

  it('hyperband stops the trial that falls behind at the first band with SIGTERM; it checkpoints and is recorded stopped', async () => {
    const file = sweepFile(`
method: grid
metric: {name: val_accuracy, goal: maximize}
early_terminate: {type: hyperband, min_iter: 2, eta: 3}
parameters:
  train.learningRate: {values: [0.001, 0.1]}
  train.epochs: {value: 30}
`);
    const { state } = await sweepOnce(file, { parallel: 2, env: { FAKE_EPOCH_MS: '60' } });
    const [good, bad] = state.trials;
    expect(good!.status).toBe('finished');
    expect(good!.epochs).toBe(30);
    // Bands 2, 6, 18; eta 3 keeps the top third: at band 2 the worse of the two is past the threshold (the better's
    // value), whichever reached it first.
    expect(bad!.status).toBe('stopped');
    expect(bad!.stoppedBy).toBe('hyperband');
    expect(bad!.epochs).toBeGreaterThanOrEqual(2);
    expect(bad!.epochs).toBeLessThan(30);
    expect(readdirSync(join(bad!.runDir!, 'checkpoints'))).toHaveLength(1);
    expect(readFileSync(bad!.log, 'utf8')).toMatch(/SIGTERM after epoch \d+, checkpoint written/);
  });

  it('Ctrl-C stops every trial cleanly; resuming continues them from their checkpoints and finishes the sweep', async () => {
    const file = sweepFile(`
method: random
metric: {name: val_accuracy, goal: maximize}
run_cap: 3
parameters:
  train.learningRate: {distribution: log_uniform_values, min: 0.0001, max: 0.1}
  train.epochs: {value: 30}
`);
    const controller = new AbortController();
    const dir = join(tmp, 'interrupted');
    // Long trials (30 x 80 ms) so that both are still running when the second has an epoch behind it, even on a
    // loaded machine (the second starts only once the first has its run directory); they are stopped long before.
    const first = await sweepOnce(file, {
      parallel: 2,
      dir,
      env: { FAKE_EPOCH_MS: '80' },
      signal: controller.signal,
      // Both trials running with a checkpointable epoch behind them.
      onEvent: (e, s) => {
        if (e.type === 'epoch' && s.trials.length === 2 && s.trials.every((t) => t.epochs >= 1))
          controller.abort();
      },
    });
    expect(first.state.status).toBe('interrupted');
    expect(first.state.trials.map((t) => t.status)).toEqual(['interrupted', 'interrupted']);
    for (const t of first.state.trials) expect(readdirSync(join(t.runDir!, 'checkpoints'))).toHaveLength(1);
    const params = first.state.trials.map((t) => t.params);

    const saved = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as SweepState;
    const second = await sweepOnce(file, { parallel: 2, dir, state: saved, env: { FAKE_EPOCH_MS: '10' } });
    expect(second.state.status).toBe('finished');
    expect(second.state.trials.map((t) => t.status)).toEqual(['finished', 'finished', 'finished']);
    expect(second.state.trials.slice(0, 2).map((t) => t.params)).toEqual(params);
    for (const t of second.state.trials.slice(0, 2)) {
      // Resumed in place: the same run directory, one line per epoch, and the second start said --resume.
      const invocations = readFileSync(join(t.runDir!, 'invocations.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(invocations).toHaveLength(2);
      expect(invocations[1].argv.slice(-2)).toEqual(['--resume', t.runDir]);
      expect(invocations[1].argv).not.toContain('--config');
      expect(t.epochs).toBe(30);
    }
  });
});

describe('a sweep is checked against the experiment before anything runs', () => {
  const plan = (body: string) => {
    const file = sweepFile(body);
    return () =>
      planSweep(loadSweepFile(file), file, {
        loadExperiment: (f, o) => loadSweepExperiment(f, o, process.env),
        env: process.env,
      });
  };

  it('a parameter that is not a key of the experiment config, and a value its schema refuses, are named', () => {
    expect(plan('method: random\nrun_cap: 2\nparameters:\n  train.learningRat: {values: [0.1]}\n')).toThrow(
      /parameters\.train\.learningRat: not a key of the experiment config .*did you mean 'learningRate'/,
    );
    // batchSize is an integer: a continuous range would hand trials fractions.
    expect(
      plan(
        'method: random\nrun_cap: 2\nparameters:\n  train.batchSize: {distribution: uniform, min: 32, max: 128}\n',
      ),
    ).toThrow(/parameters\.train\.batchSize: the value \d+\.\d+ is refused by the experiment config/);
  });

  it('a metric the trials do not write, hyperband on an end-of-run metric, and an endless random search', () => {
    expect(
      plan('method: random\nmetric: {name: val_acc}\nparameters:\n  train.epochs: {values: [1]}\n'),
    ).toThrow(
      /metric\.name: trials write no metric 'val_acc'[\s\S]*run_cap: random search never ends by itself/,
    );
    expect(
      plan(
        'method: grid\nmetric: {name: test_accuracy}\nearly_terminate: {type: hyperband, min_iter: 1}\nparameters:\n  train.epochs: {values: [1]}\n',
      ),
    ).toThrow(
      /early_terminate: hyperband compares trials every epoch, but test_accuracy is known only at the end/,
    );
  });
});

describe('the W&B agent command line', () => {
  it('runs as wandb agent would build it from the file: macros expanded, WANDB_RUN_ID and WANDB_SWEEP_ID set', async () => {
    const file = sweepFile(`
method: random
parameters:
  train.learningRate: {values: [0.00001]}
  train.batchSize: {values: [64]}
`);
    const sweep = loadSweepFile(file);
    const outputs = join(tmp, 'agent');
    // The command of a sweep file can route outputs by sweep id, as configs/sweeps/exp1-lr.yaml does.
    const command = [...sweep.command!, `train.outputDir=${outputs}/\${envvar:WANDB_SWEEP_ID}/runs`];
    const env = agentEnvironment({
      base: { PATH: process.env.PATH },
      sweepId: 'abc123',
      runId: 'run0001',
      paramPath: join(outputs, 'config-run0001.yaml'),
      dir: outputs,
    });
    const argv = buildAgentCommand({
      command,
      program: sweep.program,
      args: runArgsFor([
        { path: ['train.learningRate'], value: 0.00001 },
        { path: ['train.batchSize'], value: 64 },
      ]),
      env,
      platform: 'linux',
    });
    expect(argv).toEqual([
      '/usr/bin/env',
      'node',
      FAKE,
      '--config',
      EXPERIMENT,
      'train.batchSize=64',
      'train.learningRate=1e-05',
      `train.outputDir=${outputs}/abc123/runs`,
    ]);
    const trial = startTrialProcess({ argv, env, cwd: ROOT, logFile: join(outputs, 'agent.log') });
    expect((await trial.done).code).toBe(0);
    const runs = join(outputs, 'abc123', 'runs', 'fake');
    const [runDir] = readdirSync(runs);
    const invocation = JSON.parse(readFileSync(join(runs, runDir!, 'invocations.jsonl'), 'utf8'));
    expect(invocation.env).toMatchObject({ WANDB_RUN_ID: 'run0001', WANDB_SWEEP_ID: 'abc123' });
    expect(
      readFileSync(join(runs, runDir!, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(3);
  });
});

describe('pnpm sweep (the CLI)', () => {
  const cli = (args: string[]) =>
    run('pnpm', ['--silent', 'sweep', ...args], { cwd: ROOT }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  it('exits 2 naming the key for an invalid sweep file, before any trial directory exists', async () => {
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(
      bad,
      'method: random\nrun_cap: 2\nparameters:\n  train.learningRate: {min: 0.1, max: 0.01}\n',
    );
    const output = join(tmp, 'never');
    const result = await cli(['--config', bad, '--output', output]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /parameters\.train\.learningRate\.min: min 0\.1 is not less than max 0\.01/,
    );
    expect(existsSync(output)).toBe(false);
  });

  it("exits 2 naming a parameter that is not a key of the experiment (pnpm train's own loader), before any trial runs", async () => {
    const file = sweepFile('method: random\nrun_cap: 2\nparameters:\n  train.learningRat: {values: [0.1]}\n');
    const output = join(tmp, 'never-unknown');
    const result = await cli(['--config', file, '--output', output]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /parameters\.train\.learningRat: not a key of the experiment config .*did you mean 'learningRate'/,
    );
    expect(existsSync(output)).toBe(false);
  });

  it('Ctrl-C stops the sweep with exit code 130 and --resume finishes it', async () => {
    const file = sweepFile(`
method: grid
metric: {name: val_accuracy, goal: maximize}
parameters:
  train.learningRate: {values: [0.001, 0.01]}
  train.epochs: {value: 60}
`);
    const output = join(tmp, 'cli-sweeps');
    // 60 x 50 ms: the first trial is still running when the second (started once the first has its run directory,
    // after up to one 1 s poll) has made its own, even on a loaded machine.
    // Detached: the CLI gets its own process group, which is what a terminal's Ctrl-C signals.
    // The `sweep` script's own command, not pnpm: pnpm itself dies of a Ctrl-C at once (its script carries on), so
    // its exit code says nothing.
    const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const [node, ...script] = (scripts.sweep as string).split(' ');
    expect(node).toBe('node');
    const child = spawn(
      process.execPath,
      [...script, '--config', file, '--output', output, '--parallel', '2'],
      { cwd: ROOT, detached: true, env: { ...process.env, FAKE_EPOCH_MS: '50' } },
    );
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stdout += d;
    });
    const dir = await new Promise<string>((resolve) => {
      const timer = setInterval(() => {
        const match = /directory: (\S+)/.exec(stdout);
        if (match && existsSync(join(match[1]!, 'trials', '002', 'runs'))) {
          clearInterval(timer);
          resolve(match[1]!);
        }
      }, 50);
    });
    process.kill(-child.pid!, 'SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    expect(stdout).toContain(`interrupted: resume with  pnpm sweep --resume ${dir}`);
    const resumed = await run('pnpm', ['--silent', 'sweep', '--resume', dir], {
      cwd: ROOT,
      env: { ...process.env, FAKE_EPOCH_MS: '1' },
    });
    expect(resumed.stdout).toMatch(/best: {4}trial 001, val_accuracy 0\.9\d*/);
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as SweepState;
    expect(state.trials.map((t) => [t.status, t.epochs])).toEqual([
      ['finished', 60],
      ['finished', 60],
    ]);
  });
});

describe('configs/sweeps/exp1-lr.yaml', () => {
  it('plans against the real exp1 schema: 8 random trials of learning rate x batch size, one epoch each', () => {
    const file = join(ROOT, 'configs', 'sweeps', 'exp1-lr.yaml');
    const sweep = loadSweepFile(file);
    const plan = planSweep(sweep, file, {
      loadExperiment: (f, o) => loadSweepExperiment(join(ROOT, f), o, process.env),
      env: {},
    });
    expect(plan).toMatchObject({ method: 'random', trialCount: 8, experimentFile: 'configs/exp1.yaml' });
    expect(sweep.parameters.map((p) => p.name)).toEqual([
      'train.batchSize',
      'train.epochs',
      'train.learningRate',
    ]);
    expect(sweep.parameters[0]!.spec).toEqual({ distribution: 'categorical', values: [32, 64, 128] });
    expect(sweep.parameters[1]!.spec).toEqual({ distribution: 'constant', value: 1 });
    // What `wandb agent` runs for a trial of this file.
    const argv = buildAgentCommand({
      command: sweep.command,
      program: sweep.program,
      args: { 'train.batchSize': 64, 'train.epochs': 1, 'train.learningRate': 0.0012 },
      env: { WANDB_SWEEP_ID: 'q1w2e3r4' },
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
      'train.outputDir=sweeps/exp1-lr/q1w2e3r4/runs',
      'export.uri=sweeps/exp1-lr/q1w2e3r4/bundles',
      'train.evaluation.pictures=false',
      'train.batchSize=64',
      'train.epochs=1',
      'train.learningRate=0.0012',
    ]);
  });
});
