import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startCli, writeImageFolder, writeTinyConfig } from './train-support.ts';

let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'e2e-train-cli-'));
  await writeImageFolder(join(dir, 'images'), 24);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const runsOf = (name: string) => join(dir, 'runs', name);
const onlyRun = (name: string) => {
  const runs = readdirSync(runsOf(name));
  expect(runs).toHaveLength(1);
  return join(runsOf(name), runs[0]!);
};
const rows = (runDir: string) =>
  readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { epoch: number });

describe('pnpm train (the CLI process)', () => {
  it('refuses an invalid config with exit code 2 and every problem located, before any run directory exists', async () => {
    const file = writeTinyConfig(dir, 'invalid');
    const run = startCli([
      'train',
      '--config',
      file,
      'train.batchSize=0',
      'train.epocs=3',
      'train.optimizer.nesterov=true',
    ]);
    expect(await run.exit).toBe(2);
    expect(run.stderr()).toMatch(/override 'train\.batchSize=0': train\.batchSize: /);
    expect(run.stderr()).toMatch(/train\.epocs: unknown key \(did you mean 'epochs'\?\)/);
    expect(run.stderr()).toMatch(/train\.optimizer\.nesterov: nesterov needs name: sgd and momentum > 0/);
    expect(existsSync(runsOf('invalid'))).toBe(false);
  });

  it('SIGTERM saves a checkpoint and exits 143; kill -9 of the resumed run loses at most an epoch; --resume finishes with each epoch once', async () => {
    const file = writeTinyConfig(dir, 'stopped');
    const run = startCli(['train', '--config', file, 'train.epochs=40']);
    await run.waitFor('"epoch 1/40 done"');
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(143);
    expect(run.stderr()).toMatch(/SIGTERM: saving a checkpoint and stopping/);
    expect(run.stderr()).toMatch(
      /training stopped by SIGTERM .*; checkpoint epoch-\d{4}(-step-\d{6})? saved/,
    );
    const runDir = onlyRun('stopped');
    // The hint names this run, ready to paste.
    expect(run.stderr()).toContain(`continue with \`pnpm train --resume ${runDir}\``);
    expect(readdirSync(join(runDir, 'checkpoints')).some((name) => name.startsWith('epoch-'))).toBe(true);
    expect(JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')).status).toBe('interrupted');

    // Resumed, then killed without a chance to save anything after its first epoch.
    const resumed = startCli(['train', '--resume', runDir]);
    await resumed.waitFor('/40 done"');
    expect(resumed.stdout()).toMatch(/resuming from checkpoint/);
    resumed.child.kill('SIGKILL');
    expect(await resumed.exit).toBe('SIGKILL');

    const saved = readdirSync(join(runDir, 'checkpoints'))
      .filter((name) => /^epoch-\d{4}$/.test(name))
      .sort();
    const lastEpoch = Number(saved.at(-1)?.slice('epoch-'.length));
    expect(lastEpoch).toBeGreaterThanOrEqual(2);
    // What the run trains cannot change on resume (only how long, how it stops, reports and exports): exit 2.
    const rowsBefore = rows(runDir).length;
    const refused = startCli(['train', '--resume', runDir, 'train.batchSize=8']);
    expect(await refused.exit).toBe(2);
    expect(refused.stderr()).toMatch(/train\.batchSize cannot change in a resumed run/);
    expect(rows(runDir)).toHaveLength(rowsBefore);

    const finished = startCli(['train', '--resume', runDir, `train.epochs=${lastEpoch + 1}`]);
    expect(await finished.exit).toBe(0);
    expect(finished.stdout()).toMatch(/stopped: cnn on wasm, test accuracy \d+\.\d\d%, \d+ images\/s/);
    expect(finished.stdout()).toContain(`run:    ${runDir}`);
    expect(finished.stdout()).toMatch(/bundle: .*models\/stopped\/\d{8}T\d{6}Z-[0-9a-f]{8}/);
    expect(rows(runDir).map((row) => row.epoch)).toEqual(
      Array.from({ length: lastEpoch + 1 }, (_, i) => i + 1),
    );
    expect(JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')).status).toBe('finished');
  });

  it('a storage that fails on write ends the process with exit 1 and the storage error, worker threads released', async () => {
    const file = writeTinyConfig(dir, 'failing');
    const script = join(ROOT, 'tests', 'e2e', 'fixtures', 'train-failing-storage.ts');
    const run = startCli(
      ['train', '--config', file, 'runtime.dataParallelWorkers=1', 'logging.level=debug'],
      script,
    );
    // A worker thread left running would keep the process alive and this would time out.
    expect(await run.exit).toBe(1);
    expect(run.stdout()).toMatch(/data-parallel training on worker threads/);
    expect(run.stdout()).toMatch(/data-parallel worker threads terminated/);
    expect(run.stderr()).toMatch(/error \[STORAGE_WRITE_FAILED\]: simulated failure writing .*checkpoints/);
    expect(JSON.parse(readFileSync(join(onlyRun('failing'), 'summary.json'), 'utf8')).status).toBe('failed');
  });
});
