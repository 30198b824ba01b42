import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ROOT, writeImageFolder } from './train-support.ts';

/** What a scratch workspace's artifacts/models/exp1/latest.json holds: the model "the service serves today". */
export const SERVED_LATEST = 'artifacts/models/exp1/latest.json';
export const SERVED_LATEST_TEXT = '{"version": "20240101T000000Z-exp1-served"}\n';

/**
 * A scratch copy of the repository for running configs/sweeps/exp1-lr.yaml for real, unchanged: the code and its
 * dependencies linked, configs/base.yaml and the sweep file copied, and configs/exp1.yaml replaced by exp1 in
 * miniature (same name; a 2-class 16x16 image folder, 3 epochs unless the sweep says otherwise, one process on wasm).
 * A served artifacts/models/exp1/latest.json is already there, for tests to check that nothing moves it.
 */
export async function createSweepWorkspace(prefix: string): Promise<string> {
  const workspace = mkdtempSync(join(tmpdir(), prefix));
  for (const entry of ['packages', 'node_modules', 'package.json', 'tsconfig.json', 'tsconfig.base.json'])
    symlinkSync(join(ROOT, entry), join(workspace, entry));
  mkdirSync(join(workspace, 'configs', 'sweeps'), { recursive: true });
  copyFileSync(join(ROOT, 'configs', 'base.yaml'), join(workspace, 'configs', 'base.yaml'));
  copyFileSync(
    join(ROOT, 'configs', 'sweeps', 'exp1-lr.yaml'),
    join(workspace, 'configs', 'sweeps', 'exp1-lr.yaml'),
  );
  await writeImageFolder(join(workspace, 'images'), 24);
  writeFileSync(
    join(workspace, 'configs', 'exp1.yaml'),
    [
      '# A test workspace: exp1 in miniature (same name, tiny data, one process on wasm).',
      'extends: ./base.yaml',
      'runtime: { backend: wasm, dataParallelWorkers: 0 }',
      'data:',
      `  source: { kind: imagefolder, path: ${join(workspace, 'images')} }`,
      '  preprocess: { width: 16, height: 16, channels: 1 }',
      '  split: { seed: 1, valFraction: 0.2, testFraction: 0.2 }',
      'model: { architecture: cnn }',
      'train: { epochs: 3, batchSize: 16 }',
      '',
    ].join('\n'),
  );
  mkdirSync(join(workspace, 'artifacts', 'models', 'exp1'), { recursive: true });
  writeFileSync(join(workspace, SERVED_LATEST), SERVED_LATEST_TEXT);
  return workspace;
}

/** Every file under a directory, relative to it, sorted. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}
