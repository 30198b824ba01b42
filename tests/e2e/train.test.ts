import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLogger, createStorage, loadConfig } from '@tfmlops/core';
import { loadSource } from '@tfmlops/data';
import { experimentConfigSchema, train } from '@tfmlops/model';
import { realMachineProbes } from '@tfmlops/runtime';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
let dir: string;

/** Two visually distinct classes: bright top half vs bright bottom half, with noise. */
async function writeImageFolder(root: string, perClass: number): Promise<void> {
  const storage = createStorage();
  for (const [label, name] of ['top', 'bottom'].entries()) {
    for (let i = 0; i < perClass; i += 1) {
      const pixels = Buffer.alloc(16 * 16);
      for (let p = 0; p < pixels.length; p += 1) {
        const inTop = p < 128;
        pixels[p] = (inTop === (label === 0) ? 180 : 20) + ((p * 31 + i * 17) % 60);
      }
      const png = await sharp(pixels, { raw: { width: 16, height: 16, channels: 1 } })
        .png()
        .toBuffer();
      await storage.write(join(root, name, `${i}.png`), png);
    }
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'e2e-train-'));
  await writeImageFolder(join(dir, 'images'), 40);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pnpm train end to end', () => {
  // Both training paths on wasm: one process (train step + fused Adam) and a batch split with a worker thread.
  it.each([
    ['one process', 0],
    ['one data-parallel worker', 1],
  ])(
    'trains from a config on wasm (%s), reports accuracy, and writes the model and metrics',
    async (_, workers) => {
      const runsDir = join(dir, `runs-${workers}`);
      const { config } = loadConfig({
        schema: experimentConfigSchema,
        file: join(ROOT, 'configs', 'exp1.yaml'),
        overrides: [
          'runtime.backend=wasm',
          `runtime.dataParallelWorkers=${workers}`,
          `data.source={kind: imagefolder, path: ${join(dir, 'images')}}`,
          `data.outputDir=${join(dir, 'processed')}`,
          'data.split.testFraction=0.2',
          'data.preprocess={width: 16, height: 16, channels: 1}',
          'train.epochs=4',
          'train.batchSize=16',
          `train.outputDir=${runsDir}`,
        ],
        env: {},
      });
      const storage = createStorage();
      const result = await train(config, {
        storage,
        logger: createLogger({ level: 'silent' }),
        probes: realMachineProbes({}),
        loadSource,
      });
      expect(result.backend).toBe('wasm');
      expect(result.epochs).toHaveLength(4);
      expect(result.epochs[3]!.loss).toBeLessThan(result.epochs[0]!.loss);
      expect(result.testAccuracy).toBeGreaterThanOrEqual(0.9);
      const files = (await storage.list(result.runUri)).map((e) => e.relativePath);
      expect(files).toEqual(['metrics.json', 'model/model.json', 'model/weights.bin']);
      const latest = JSON.parse(readFileSync(join(runsDir, 'latest.json'), 'utf8'));
      expect(latest.runUri).toBe(result.runUri);
      const metrics = JSON.parse(readFileSync(join(result.runUri, 'metrics.json'), 'utf8'));
      expect(metrics).toMatchObject({
        datasetVersion: result.datasetVersion,
        testAccuracy: result.testAccuracy,
      });
      const modelJson = JSON.parse(readFileSync(join(result.runUri, 'model', 'model.json'), 'utf8'));
      const weightBytes = modelJson.weightsManifest[0].weights.reduce(
        (sum: number, w: { shape: number[] }) => sum + 4 * w.shape.reduce((a, b) => a * b, 1),
        0,
      );
      expect(readFileSync(join(result.runUri, 'model', 'weights.bin')).byteLength).toBe(weightBytes);
    },
  );

  it('the CLI refuses a bad config with exit code 2 and a located message, before starting anything', async () => {
    const error = await run('pnpm', ['--silent', 'train', '--config', 'configs/exp1.yaml', 'train.epocs=3'], {
      cwd: ROOT,
    }).catch((caught: { code: number; stderr: string }) => caught);
    expect((error as { code: number }).code).toBe(2);
    expect((error as { stderr: string }).stderr).toMatch(
      /override 'train\.epocs=3': train\.epocs: unknown key \(did you mean 'epochs'\?\)/,
    );
  });
});
