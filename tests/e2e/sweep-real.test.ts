// `pnpm sweep --config configs/sweeps/exp1-lr.yaml` for real, in miniature: the repository's own sweep file, unchanged,
// run by the real CLI in a scratch workspace where configs/exp1.yaml is a tiny experiment of the same name (a 2-class
// 16x16 image folder on wasm; the sweep file makes it one epoch). Two real trainings, two at a time. Checks what a sweep must never do (move
// exp1's latest.json, the service's default model, or write into exp1's own runs) and what it must leave behind.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSweepWorkspace, filesUnder, SERVED_LATEST, SERVED_LATEST_TEXT } from './sweep-workspace.ts';

const run = promisify(execFile);
let workspace: string;

beforeAll(async () => {
  workspace = await createSweepWorkspace('e2e-sweep-real-');
});
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

describe('pnpm sweep on configs/sweeps/exp1-lr.yaml (tiny exp1, real trainings)', () => {
  it('trains 2 trials under the sweep directory: exp1 latest.json untouched, no pictures, results, plots and the best bundle', async () => {
    const result = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'packages/model/src/sweep/cli.ts',
        '--config',
        'configs/sweeps/exp1-lr.yaml',
        '--count',
        '2',
        '--parallel',
        '2',
        '--seed',
        '7',
      ],
      {
        cwd: workspace,
        env: { ...process.env, WANDB_MODE: 'disabled', LOG_LEVEL: 'warn', FORCE_COLOR: '0' },
        maxBuffer: 16 * 1024 * 1024,
      },
    ).catch((error: { stdout: string; stderr: string }) => {
      const logs = filesUnder(join(workspace, 'sweeps'))
        .filter((f) => f.endsWith('train.log'))
        .map((f) => `--- ${f}\n${readFileSync(join(workspace, 'sweeps', f), 'utf8')}`);
      throw new Error(`pnpm sweep failed:\n${error.stdout}\n${error.stderr}\n${logs.join('\n')}`);
    });

    // exp1's own outputs: the served latest.json byte for byte, nothing new beside it, no exp1 runs.
    expect(readFileSync(join(workspace, SERVED_LATEST), 'utf8')).toBe(SERVED_LATEST_TEXT);
    expect(filesUnder(join(workspace, 'artifacts'))).toEqual(['models/exp1/latest.json']);
    expect(existsSync(join(workspace, 'runs'))).toBe(false);

    const [id, ...others] = readdirSync(join(workspace, 'sweeps', 'exp1-lr'));
    expect(others).toEqual([]);
    const dir = join(workspace, 'sweeps', 'exp1-lr', id!);
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
    expect(state.trials.map((t: { status: string }) => t.status)).toEqual(['finished', 'finished']);
    // Each trial trained with the sampled parameters and one epoch (the file's constant), its run under the sweep.
    for (const trial of state.trials) {
      expect(trial.runDir.startsWith(join('sweeps', 'exp1-lr', id!, 'trials', trial.id, 'runs'))).toBe(true);
      const runDir = join(workspace, trial.runDir);
      const lines = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n');
      expect(lines).toHaveLength(1);
      const config = readFileSync(join(runDir, 'config.yaml'), 'utf8');
      expect(config).toContain(`batchSize: ${trial.params['train.batchSize']}`);
      // No evaluation pictures in trials (train.evaluation.pictures=false from the file's command).
      expect(filesUnder(runDir).filter((f) => f.endsWith('.png'))).toEqual([]);
    }

    // The second trial started only once the first had prepared the data and made its run directory (config.yaml
    // is its first file): two trials building the same missing dataset at once would race to publish it.
    const [first, second] = state.trials;
    const firstRunMade = statSync(join(workspace, first.runDir, 'config.yaml')).mtimeMs;
    expect(Date.parse(second.startedAt)).toBeGreaterThanOrEqual(Math.floor(firstRunMade) - 5);

    const files = filesUnder(dir);
    expect(files).toEqual(
      expect.arrayContaining([
        'results.csv',
        'results.md',
        'plots/val_accuracy-vs-train.learningRate.png',
        'plots/val_accuracy-vs-train.batchSize.png',
        'plots/parallel-coordinates.png',
      ]),
    );
    expect(readFileSync(join(dir, 'results.csv'), 'utf8').trim().split('\n')).toHaveLength(3);

    // The best trial's bundle: under the sweep, complete, and named on stdout.
    const bundleUri = /^bundle:\s+(\S+)$/m.exec(result.stdout)?.[1];
    expect(bundleUri, result.stdout).toBeDefined();
    const bundleDir = join(workspace, bundleUri!);
    expect(relative(dir, bundleDir)).toMatch(/^trials\/00[12]\/bundles\/exp1\/[^/]+$/);
    expect(existsSync(join(bundleDir, 'bundle.json'))).toBe(true);
    expect(existsSync(join(bundleDir, 'model.json'))).toBe(true);
    expect(readFileSync(join(dir, 'results.md'), 'utf8')).toContain(bundleUri!);
  }, 120_000);
});
