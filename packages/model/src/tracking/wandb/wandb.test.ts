import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createStorage } from '@tfmlops/core';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { type WandbFault, WandbServer } from '../../../../../tests/support/wandb-server/index.ts';
import type { WandbSettings } from '../config.ts';
import { RunTracker } from '../run-tracker.ts';
import { syncRun } from '../sync.ts';
import type { EpochRow } from '../types.ts';

const KEY = 'k'.repeat(40);
const storage = createStorage({});
const logger = createLogger({ level: (process.env.TEST_LOG as 'debug') ?? 'silent' });
let root: string;
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'wandb-'));
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
});
afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
  await rm(root, { recursive: true, force: true });
});
/** A server for one test, stopped when that test ends (tests below run concurrently, each with its own). */
async function startServer(context: TestContext, faults: WandbFault[] = []): Promise<WandbServer> {
  const server = new WandbServer({ apiKeys: [KEY], entity: 'team' });
  context.onTestFinished(() => server.stop());
  await server.start();
  for (const fault of faults) server.inject(fault);
  return server;
}

function settings(server: WandbServer, overrides: Partial<WandbSettings> = {}): WandbSettings {
  // Generous start timeout: a failure must come from the fault, not from a slow worker on a loaded machine.
  return {
    apiKey: KEY,
    baseUrl: server.baseUrl,
    project: 'proj',
    tags: ['cnn'],
    initTimeoutMs: 60_000,
    finishTimeoutMs: 3_000,
    ...overrides,
  };
}

const row = (epoch: number): EpochRow => ({
  epoch,
  loss: 1 / epoch,
  accuracy: 0.9,
  val_loss: 1.2 / epoch,
  val_accuracy: 0.88,
  lr: 0.001,
  images_per_second: 1500,
  seconds: 3,
});
const CONFIG = { name: 'exp1', model: { architecture: 'cnn' }, train: { epochs: 3, batchSize: 64 } };

async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function summaryOf(runDir: string) {
  return JSON.parse(await readFile(join(runDir, 'summary.json'), 'utf8'));
}

describe.concurrent('W&B tracking against the contract server', () => {
  it('sends the resolved config, every epoch row, the summary and the tags; the SDK gets copies', async (context) => {
    const server = await startServer(context);
    const runDir = join(root, 'happy');
    const signalsBefore = ['SIGTERM', 'SIGINT', 'beforeExit'].map((e) => process.listenerCount(e));
    // This "training" takes no time, so finish also waits for the run to start: give it the default 30 s.
    const wandb = {
      state: 'online',
      why: 'test',
      settings: settings(server, { finishTimeoutMs: 30_000 }),
    } as const;
    const tracker = new RunTracker({ storage, logger, wandb });
    await tracker.start({ experiment: 'exp1', runId: 'happy1', runDir, config: CONFIG });
    const rows = [row(1), row(2), row(3)];
    for (const r of rows) await tracker.logEpoch(r);
    await tracker.logSummary({ test_accuracy: 0.991, backend: 'wasm' });
    await tracker.logArtifact({ name: 'model', uri: 'artifacts/models/exp1/v1', type: 'model' });
    const mark = await tracker.finish('finished');

    expect(mark, JSON.stringify(mark)).toMatchObject({ status: 'ok' });
    const run = server.onlyRun()!;
    expect(run).toMatchObject({
      entity: 'team',
      project: 'proj',
      id: 'happy1',
      displayName: 'exp1-happy1',
      config: CONFIG,
    });
    expect(run.tags).toEqual(['exp1', 'cnn']);
    expect(run.history).toHaveLength(3);
    expect(run.history).toEqual(rows.map((r, i) => expect.objectContaining({ ...r, _step: i })));
    expect(run).toMatchObject({ complete: true, exitcode: 0 });
    expect(run.summaryMetrics).toMatchObject({
      test_accuracy: 0.991,
      backend: 'wasm',
      status: 'finished',
      val_accuracy: 0.88,
      'artifact/model': 'artifacts/models/exp1/v1',
    });
    // log() adds _step/_runtime/_timestamp to what it is given; ours never saw them.
    expect(Object.keys(rows[0]!)).not.toContain('_step');
    const summary = await summaryOf(runDir);
    expect(summary.tracking.wandb).toMatchObject({
      status: 'ok',
      entity: 'team',
      run_id: 'happy1',
      url: `${server.baseUrl}/team/proj/runs/happy1`,
    });
    // The SDK's init installed SIGTERM, SIGINT and beforeExit handlers (in its thread); they were removed again.
    expect(summary.tracking.wandb.listeners_removed).toEqual(
      expect.arrayContaining(['SIGTERM', 'SIGINT', 'beforeExit']),
    );
    expect(['SIGTERM', 'SIGINT', 'beforeExit'].map((e) => process.listenerCount(e))).toEqual(signalsBefore);
    expect(server.requests.map((r) => r.apiKey)).toEqual(server.requests.map(() => KEY));
  });

  it("creates the run in its sweep and group (WANDB_SWEEP_ID, WANDB_RUN_GROUP): the run's first UpsertBucket names them", async (context) => {
    const server = await startServer(context);
    const wandb = {
      state: 'online',
      why: 'test',
      settings: settings(server, { finishTimeoutMs: 30_000, sweepId: 'swp00001', group: 'sweep-a' }),
    } as const;
    const tracker = new RunTracker({ storage, logger, wandb });
    const runDir = join(root, 'in-sweep');
    await tracker.start({ experiment: 'exp1', runId: 'trial7', runDir, config: CONFIG });
    await tracker.logEpoch(row(1));
    await tracker.finish('finished');
    const { wandb: mark } = (await summaryOf(runDir)).tracking;
    expect(mark, JSON.stringify(mark)).toMatchObject({ status: 'ok', sweep_id: 'swp00001' });
    expect(mark).not.toHaveProperty('warnings');
    const run = server.onlyRun()!;
    expect(run).toMatchObject({
      id: 'trial7',
      entity: 'team',
      sweep: 'swp00001',
      group: 'sweep-a',
      config: CONFIG,
    });
    expect(run.history).toHaveLength(1);
    const upserts = server.requests.filter((r) => r.operation === 'UpsertBucket');
    expect((upserts[0]!.body as { variables: Record<string, unknown> }).variables).toMatchObject({
      name: 'trial7',
      entity: 'team',
      sweep: 'swp00001',
      groupName: 'sweep-a',
    });
  });

  it('a refused sweep placement (4xx) costs the placement, not the run: a warning in summary.json', async (context) => {
    const server = await startServer(context, [{ operation: 'UpsertBucket', answer: 404, times: 1 }]);
    const wandb = {
      state: 'online',
      why: 'test',
      settings: settings(server, { finishTimeoutMs: 30_000, sweepId: 'gone0001' }),
    } as const;
    const tracker = new RunTracker({ storage, logger, wandb });
    const runDir = join(root, 'no-sweep');
    await tracker.start({ experiment: 'exp1', runId: 'trial8', runDir, config: CONFIG });
    await tracker.logEpoch(row(1));
    await tracker.finish('finished');
    const { wandb: mark } = (await summaryOf(runDir)).tracking;
    expect(mark, JSON.stringify(mark)).toMatchObject({ status: 'ok' });
    expect(String(mark.warnings)).toMatch(
      /creating the run in its W&B sweep\/group failed: UpsertBucket answered HTTP 404/,
    );
    const run = server.onlyRun()!;
    expect(run.sweep).toBeUndefined();
    expect(run.history).toHaveLength(1);
    expect(server.requests.filter((r) => r.operation === 'UpsertBucket')[0]!.status).toBe(404);
  });

  describe('failure modes: training completes, tracking is marked failed', () => {
    const cases: Array<{ name: string; fault: WandbFault; error: RegExp; waitFor: 'fault' | 'ready' }> = [
      {
        name: 'Viewer 5xx (the SDK retries for minutes)',
        fault: { operation: 'Viewer', answer: 503 },
        error: /had not started when the training ended/,
        waitFor: 'fault',
      },
      {
        name: 'Viewer 4xx',
        fault: { operation: 'Viewer', answer: 403 },
        error: /could not start: Unable to determine default entity/,
        waitFor: 'fault',
      },
      {
        name: 'Viewer never answers',
        fault: { operation: 'Viewer', answer: 'hang' },
        error: /had not started when the training ended/,
        waitFor: 'fault',
      },
      {
        name: 'UpsertBucket 5xx',
        fault: { operation: 'UpsertBucket', answer: 500 },
        error: /had not started when the training ended/,
        waitFor: 'fault',
      },
      {
        name: 'UpsertBucket 4xx (an uncaught exception in the SDK)',
        fault: { operation: 'UpsertBucket', answer: 403 },
        error: /W&B SDK error: Failed to upsert run/,
        waitFor: 'fault',
      },
      {
        name: 'file_stream 5xx (the SDK drops the history silently)',
        fault: { operation: 'file_stream', answer: 502 },
        error: /answered HTTP 502 to POST \/files\/team\/proj\/\w+\/file_stream/,
        waitFor: 'ready',
      },
      {
        name: 'file_stream never answers',
        fault: { operation: 'file_stream', answer: 'hang' },
        error: /did not finish within 3 s/,
        waitFor: 'ready',
      },
    ];
    for (const { name, fault, error, waitFor } of cases) {
      it(name, async (context) => {
        const server = await startServer(context, [fault]);
        const runId = `f${cases.findIndex((c) => c.name === name)}`;
        const runDir = join(root, runId);
        const tracker = new RunTracker({
          storage,
          logger,
          wandb: { state: 'online', why: 'test', settings: settings(server) },
        });
        await tracker.start({ experiment: 'exp1', runId, runDir, config: CONFIG });
        if (waitFor === 'fault') {
          await until(
            () => server.requests.some((r) => r.operation === fault.operation),
            `the ${fault.operation} request`,
          );
        } else {
          await tracker.wandb!.whenSettled();
          expect(tracker.wandb!.mark().status).toBe('ok');
        }
        for (const epoch of [1, 2, 3]) await tracker.logEpoch(row(epoch));
        await tracker.logSummary({ test_accuracy: 0.99 });
        const started = Date.now();
        const mark = await tracker.finish('finished');
        // Bounded: the finish timeout (3 s) plus room for a loaded machine, never the SDK's minutes of retries.
        expect(Date.now() - started).toBeLessThan(3_000 + 7_000);
        expect(mark.status).toBe('failed');
        expect(
          server.requests.some((r) => r.operation === fault.operation && r.status === fault.answer),
        ).toBe(true);
        const summary = await summaryOf(runDir);
        expect(summary).toMatchObject({
          status: 'finished',
          test_accuracy: 0.99,
          tracking: { local: { status: 'ok' }, wandb: { status: 'failed' } },
        });
        expect(summary.tracking.wandb.error).toMatch(error);
        const metrics = (await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).trimEnd().split('\n');
        expect(metrics.map((line) => JSON.parse(line).epoch)).toEqual([1, 2, 3]);
        expect(uncaught).toEqual([]);
      });
    }
  });

  it('SIGTERM still ends a process after the SDK initialised in it', async (context) => {
    const server = await startServer(context);
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        new URL('./fixtures/tracked-process.ts', import.meta.url).pathname,
        server.baseUrl,
        join(root, 'sigterm'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk);
    });
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    try {
      await until(
        () => stdout.includes('\n') || child.exitCode !== null,
        'the tracked process to be ready',
        45_000,
      );
      const report = JSON.parse(stdout.split('\n')[0]!);
      expect(report, stderr).toMatchObject({
        ready: true,
        status: 'ok',
        sigtermBefore: 0,
        sigtermAfter: 0,
        sigintAfter: 0,
        beforeExitAfter: 0,
      });
      expect(report.removed).toEqual(expect.arrayContaining(['SIGTERM', 'SIGINT', 'beforeExit']));
      expect(server.onlyRun()?.id).toBe('sigterm1');
      child.kill('SIGTERM');
      const result = await Promise.race([
        exited,
        new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 10_000)),
      ]);
      expect(result).toEqual({ code: null, signal: 'SIGTERM' });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('track sync replays a local run into W&B and marks it synced; a failed sync changes nothing', async (context) => {
    const runDir = join(root, 'offline');
    const local = new RunTracker({
      storage,
      logger,
      wandb: { state: 'offline', why: 'WANDB_MODE=offline', project: 'proj' },
    });
    await local.start({ experiment: 'exp1', runId: 'off1', runDir, config: CONFIG });
    for (const epoch of [1, 2]) await local.logEpoch(row(epoch));
    await local.logSummary({ test_accuracy: 0.985, git_commit: 'abc' });
    await local.finish('finished');
    expect((await summaryOf(runDir)).tracking.wandb).toMatchObject({ status: 'offline', run_id: 'off1' });

    const broken = await startServer(context, [{ operation: 'Viewer', answer: 401 }]);
    const before = await readFile(join(runDir, 'summary.json'), 'utf8');
    await expect(syncRun(runDir, { storage, logger, settings: settings(broken) })).rejects.toMatchObject({
      code: 'TRACKING_SYNC_FAILED',
    });
    expect(await readFile(join(runDir, 'summary.json'), 'utf8')).toBe(before);

    const server = await startServer(context);
    const { mark, epochs } = await syncRun(runDir, { storage, logger, settings: settings(server) });
    expect(epochs).toBe(2);
    expect(mark.status).toBe('synced');
    const run = server.onlyRun()!;
    expect(run).toMatchObject({ id: 'off1', config: CONFIG, complete: true });
    expect(run.history.map((line) => line.epoch)).toEqual([1, 2]);
    expect(run.summaryMetrics).toMatchObject({ test_accuracy: 0.985, git_commit: 'abc', status: 'finished' });
    expect((await summaryOf(runDir)).tracking.wandb).toMatchObject({
      status: 'synced',
      url: `${server.baseUrl}/team/proj/runs/off1`,
    });
    await expect(
      syncRun(join(root, 'nothing-here'), { storage, logger, settings: settings(server) }),
    ).rejects.toMatchObject({
      code: 'TRACKING_NOT_A_RUN',
    });
  });
});
