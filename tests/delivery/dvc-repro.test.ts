// `dvc repro` without DVC (not installable here): the stages of dvc.yaml run in dependency order in a scratch
// workspace, exactly their `cmd`s, with configs/exp1.yaml replaced by a tiny experiment of the same name (a 2-class
// 16x16 image folder named `mnist`, one epoch on wasm). Before a stage every `deps` path must exist; after it every
// `outs`, `metrics` and `plots` path must, and the metrics must be the numbers DVC will show.
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT, readRepoFile } from './repo.ts';

const run = promisify(execFile);

interface Stage {
  cmd: string | string[];
  deps?: string[];
  outs?: Array<string | Record<string, unknown>>;
  metrics?: Array<string | Record<string, unknown>>;
  plots?: Array<string | Record<string, unknown>>;
}
const { stages } = parse(readRepoFile('dvc.yaml')) as { stages: Record<string, Stage> };
const paths = (entries: Stage['outs'] = []) =>
  entries.map((entry) => (typeof entry === 'string' ? entry : Object.keys(entry)[0]!));

let workspace: string;

/** Two classes a CNN tells apart after one epoch: bright top half vs bright bottom half. */
async function writeImages(root: string, perClass: number) {
  for (const [label, name] of ['top', 'bottom'].entries()) {
    mkdirSync(join(root, name), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const pixels = Buffer.alloc(16 * 16);
      for (let p = 0; p < pixels.length; p++)
        pixels[p] = (p < 128 === (label === 0) ? 180 : 20) + ((p * 31 + i * 17) % 60);
      await sharp(pixels, { raw: { width: 16, height: 16, channels: 1 } })
        .png()
        .toFile(join(root, name, `${i}.png`));
    }
  }
}

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'dvc-repro-'));
  // The code and its dependencies as they are; the experiment is the tiny one.
  for (const entry of [
    'packages',
    'node_modules',
    'package.json',
    'pnpm-workspace.yaml',
    'pnpm-lock.yaml',
    'tsconfig.json',
    'tsconfig.base.json',
  ])
    symlinkSync(join(ROOT, entry), join(workspace, entry));
  mkdirSync(join(workspace, 'configs'));
  copyFileSync(join(ROOT, 'configs', 'base.yaml'), join(workspace, 'configs', 'base.yaml'));
  await writeImages(join(workspace, 'images'), 24);
  writeFileSync(
    join(workspace, 'configs', 'exp1.yaml'),
    [
      '# dvc-repro.test.ts: exp1 in miniature (same name and paths, tiny data, one epoch).',
      'extends: ./base.yaml',
      'runtime: { backend: wasm, dataParallelWorkers: 0 }',
      'data:',
      '  name: mnist',
      `  source: { kind: imagefolder, path: ${join(workspace, 'images')} }`,
      '  preprocess: { width: 16, height: 16, channels: 1 }',
      '  split: { seed: 1, valFraction: 0.2, testFraction: 0.2 }',
      'model: { architecture: cnn }',
      'train: { epochs: 1, batchSize: 16 }',
      '',
    ].join('\n'),
  );
});
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

describe('dvc repro, simulated', () => {
  it('runs every stage in order; each finds its deps and leaves its outs, metrics and plots', async () => {
    const order = ['prepare', 'train', 'evaluate'];
    expect(Object.keys(stages).sort()).toEqual([...order].sort());
    for (const name of order) {
      const stage = stages[name]!;
      for (const dep of stage.deps ?? [])
        expect(existsSync(join(workspace, dep)), `${name} needs ${dep}`).toBe(true);
      for (const cmd of Array.isArray(stage.cmd) ? stage.cmd : [stage.cmd]) {
        await run('sh', ['-c', cmd], {
          cwd: workspace,
          env: { ...process.env, WANDB_MODE: 'disabled', LOG_LEVEL: 'warn', FORCE_COLOR: '0' },
          maxBuffer: 64 * 1024 * 1024,
        }).catch((error: { stdout: string; stderr: string }) => {
          throw new Error(`${name}: ${cmd} failed:\n${error.stdout}\n${error.stderr}`);
        });
      }
      for (const out of [...paths(stage.outs), ...paths(stage.metrics), ...paths(stage.plots)])
        expect(existsSync(join(workspace, out)), `${name} should produce ${out}`).toBe(true);
    }

    const summary = JSON.parse(readFileSync(join(workspace, 'metrics/exp1/train/summary.json'), 'utf8'));
    expect(summary.test_accuracy).toBeGreaterThanOrEqual(0);
    expect(summary.test_accuracy).toBeLessThanOrEqual(1);
    const csv = readFileSync(join(workspace, 'metrics/exp1/train/metrics.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^epoch,loss,accuracy,val_loss,val_accuracy/);
    expect(csv).toHaveLength(2);
  }, 300_000);
});
