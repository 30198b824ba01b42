import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, createLogger, createStorage } from '@tfmlops/core';
import { loadSource } from '@tfmlops/data';
import { loadExperimentConfig, train } from '@tfmlops/model';
import { realMachineProbes } from '@tfmlops/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeShapesFolder } from '../support/make-shapes.ts';

let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'e2e-resnet-'));
  await writeShapesFolder(join(dir, 'shapes'), 24);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('colour images with a ResNet (configs/exp4-shapes.yaml, scaled down)', () => {
  it('trains the batch-norm network in one process with every colour augmentation, and exports it', async () => {
    const { config } = loadExperimentConfig({
      file: 'exp4-shapes.yaml',
      env: {},
      overrides: [
        'runtime.backend=wasm',
        `data.source.path=${join(dir, 'shapes')}`,
        `data.outputDir=${join(dir, 'processed')}`,
        'model.width=8',
        'model.stages=2',
        'train.epochs=2',
        'train.batchSize=16',
        'train.evaluation.pictures=false',
        `train.outputDir=${join(dir, 'runs')}`,
        `export.uri=${join(dir, 'models')}`,
      ],
    });
    expect(config.name).toBe('exp4-shapes');
    expect(config.train.augmentation).toMatchObject({ crop: 2, flip: true, brightness: 0.1, contrast: 0.2 });
    const result = await train(config, {
      storage: createStorage(),
      logger: createLogger({ level: 'silent' }),
      probes: realMachineProbes({}),
      loadSource,
      git: { commit: 'test', dirty: false },
    });
    expect(result.epochs).toHaveLength(2);
    expect(result.epochs.every((epoch) => Number.isFinite(epoch.loss))).toBe(true);
    const summary = JSON.parse(readFileSync(join(result.runUri, 'summary.json'), 'utf8'));
    // Batch norm is never split across data-parallel workers, whatever the machine's core count.
    expect(summary.data_parallel_workers).toBe(0);
    const bundle = JSON.parse(readFileSync(join(result.modelUri, 'bundle.json'), 'utf8'));
    expect(bundle).toMatchObject({
      labels: ['circle', 'cross', 'square', 'triangle'],
      inputShape: [32, 32, 3],
      model: { architecture: 'resnet' },
    });
  });

  it('an explicit data-parallel worker count for the batch-norm network is a config error before any run directory', async () => {
    const { config } = loadExperimentConfig({
      file: 'exp4-shapes.yaml',
      env: {},
      overrides: [
        'runtime.backend=wasm',
        'runtime.dataParallelWorkers=1',
        `data.source.path=${join(dir, 'shapes')}`,
        `data.outputDir=${join(dir, 'processed')}`,
        'model.width=8',
        'model.stages=2',
        `train.outputDir=${join(dir, 'runs-explicit')}`,
      ],
    });
    const error = await train(config, {
      storage: createStorage(),
      logger: createLogger({ level: 'silent' }),
      probes: realMachineProbes({}),
      loadSource,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/dataParallelWorkers=1 .*layer '.*' .*BatchNormalization/);
    expect(existsSync(join(dir, 'runs-explicit'))).toBe(false);
  });
});
