import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createStorage } from '@tfmlops/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { newRunId, runDirFor } from './run-dir.ts';
import { parseMetricsJsonl } from './run-files.ts';
import { RunTracker } from './run-tracker.ts';
import type { EpochRow } from './types.ts';

let root: string;
const storage = createStorage({});
const logger = createLogger({ level: 'silent' });
const row = (epoch: number, extra: Partial<EpochRow> = {}): EpochRow => ({
  epoch,
  loss: 1 / epoch,
  accuracy: 0.5 + epoch / 100,
  val_loss: 1.1 / epoch,
  val_accuracy: 0.49 + epoch / 100,
  lr: 0.001,
  images_per_second: 1000,
  seconds: 2,
  ...extra,
});

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tracking-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('RunTracker without W&B (the local run directory)', () => {
  it('writes config.yaml, a complete metrics.jsonl after every epoch and summary.json with the tracking marks', async () => {
    const runId = newRunId();
    expect(runId).toMatch(/^[a-z0-9]{8}$/);
    const runDir = runDirFor(root, 'exp1', runId, new Date('2026-01-30T10:15:00Z'));
    expect(runDir).toBe(join(root, 'exp1', `20260130-101500-${runId}`));
    const tracker = new RunTracker({
      storage,
      logger,
      wandb: { state: 'off', why: 'tracking.wandb is false' },
    });
    const config = { name: 'exp1', train: { epochs: 2, lr: 0.001 }, data: { source: { kind: 'mnist' } } };
    await tracker.start({ experiment: 'exp1', runId, runDir, config });
    expect(parseYaml(await readFile(join(runDir, 'config.yaml'), 'utf8'))).toEqual(config);
    expect(JSON.parse(await readFile(join(runDir, 'summary.json'), 'utf8'))).toMatchObject({
      status: 'running',
      run_id: runId,
    });

    await tracker.logEpoch(row(1));
    // After each epoch the file on disk is whole: a run killed now keeps every finished epoch.
    expect(parseMetricsJsonl(await readFile(join(runDir, 'metrics.jsonl'), 'utf8'))).toEqual({
      rows: [row(1)],
      skipped: [],
    });
    await tracker.logEpoch(row(2, { val_loss: Number.NaN }));
    const lines = (await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(Object.keys(JSON.parse(lines[1]!))).toEqual([
      'epoch',
      'loss',
      'accuracy',
      'val_loss',
      'val_accuracy',
      'lr',
      'images_per_second',
      'seconds',
    ]);
    expect(JSON.parse(lines[1]!).val_loss).toBeNull();

    await tracker.logSummary({
      test_accuracy: 0.991,
      train_images_per_second: 1000,
      backend: 'wasm',
      epochs: 2,
      wall_seconds: 5,
      model_uri: 'artifacts/models/exp1/v1',
      dataset_version: 'abcd',
      git_commit: 'deadbeef',
    });
    await tracker.logArtifact({ name: 'model', uri: 'artifacts/models/exp1/v1', type: 'model' });
    const mark = await tracker.finish('finished');
    expect(mark.status).toBe('ok');
    const summary = JSON.parse(await readFile(join(runDir, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({
      run_id: runId,
      experiment: 'exp1',
      status: 'finished',
      test_accuracy: 0.991,
      backend: 'wasm',
      git_commit: 'deadbeef',
      artifacts: [{ name: 'model', uri: 'artifacts/models/exp1/v1', type: 'model' }],
      tracking: { local: { status: 'ok' }, wandb: { status: 'off', reason: 'tracking.wandb is false' } },
    });
    expect(summary.finished_at >= summary.started_at).toBe(true);
  });

  it('on a resume keeps the rows up to the checkpoint epoch and drops later and torn ones', async () => {
    const runDir = join(root, 'exp1', 'run');
    const first = new RunTracker({ storage, logger, wandb: { state: 'off', why: 'test' } });
    await first.start({ experiment: 'exp1', runId: 'run', runDir, config: {} });
    for (const epoch of [1, 2, 3]) await first.logEpoch(row(epoch));
    // Simulate a torn last line from a crash mid-write.
    const text = await readFile(join(runDir, 'metrics.jsonl'), 'utf8');
    await storage.write(join(runDir, 'metrics.jsonl'), `${text}{"epoch": 4, "loss"`);

    const resumed = new RunTracker({ storage, logger, wandb: { state: 'off', why: 'test' } });
    await resumed.start({ experiment: 'exp1', runId: 'run', runDir, config: {}, resumedFromEpoch: 2 });
    await resumed.logEpoch(row(3, { loss: 0.123 }));
    const { rows } = parseMetricsJsonl(await readFile(join(runDir, 'metrics.jsonl'), 'utf8'));
    expect(rows.map((r) => [r.epoch, r.loss])).toEqual([
      [1, 1],
      [2, 0.5],
      [3, 0.123],
    ]);
    await resumed.finish('finished');
    expect(JSON.parse(await readFile(join(runDir, 'summary.json'), 'utf8'))).toMatchObject({
      resumed_from_epoch: 2,
    });
  });

  it('leaves whole lines for every logged epoch when the process is killed mid-run (SIGKILL)', async () => {
    const runDir = join(root, 'killed');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', new URL('./fixtures/endless-run.ts', import.meta.url).pathname, runDir],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    // Kill it once it is busy writing: after epoch 20, then a few more milliseconds of writes.
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 150));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const { rows, skipped } = parseMetricsJsonl(await readFile(join(runDir, 'metrics.jsonl'), 'utf8'));
    expect(skipped).toEqual([]);
    expect(rows.length).toBeGreaterThanOrEqual(20);
    expect(rows.map((r) => r.epoch)).toEqual(rows.map((_, i) => i + 1));
    // No temporary file became visible in place of a run file.
    expect((await readdir(runDir)).filter((name) => !name.startsWith('.')).sort()).toEqual([
      'config.yaml',
      'metrics.jsonl',
      'summary.json',
    ]);
  });

  it('refuses rows that are not metrics, naming the key', async () => {
    const tracker = new RunTracker({ storage, logger, wandb: { state: 'off', why: 'test' } });
    await tracker.start({ experiment: 'e', runId: 'r', runDir: join(root, 'r'), config: {} });
    await expect(tracker.logEpoch({ ...row(1), loss: '0.5' as unknown as number })).rejects.toThrow(
      /loss must be a number/,
    );
    await expect(tracker.logEpoch(row(0))).rejects.toThrow(/epoch must be a positive integer/);
  });
});
