import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, resolveConfigPath } from '@tfmlops/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadExperimentConfig } from './load-experiment.ts';

let dir: string;
let configs: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'load-experiment-'));
  configs = join(dir, 'configs');
  mkdirSync(configs);
  writeFileSync(join(configs, 'base.yaml'), 'data:\n  source: { kind: mnist }\ntrain:\n  epochs: 3\n');
  writeFileSync(join(configs, 'exp1.yaml'), 'extends: ./base.yaml\ntrain:\n  batchSize: 32\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const errorOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return error as ConfigError;
  }
  throw new Error('expected an error');
};

describe('loadExperimentConfig', () => {
  it('resolves a bare name inside configs/ (with or without .yaml) and names the experiment after the file', () => {
    expect(resolveConfigPath('exp1.yaml', configs)).toBe(join(configs, 'exp1.yaml'));
    expect(resolveConfigPath('exp1', configs)).toBe(join(configs, 'exp1.yaml'));
    const { config } = loadExperimentConfig({ file: 'exp1.yaml', configsDir: configs });
    expect(config.name).toBe('exp1');
    expect(config.train).toMatchObject({ epochs: 3, batchSize: 32 });
  });

  it('keeps a name given in the file or on the command line', () => {
    const { config } = loadExperimentConfig({
      file: join(configs, 'exp1.yaml'),
      overrides: ['name=baseline-2'],
    });
    expect(config.name).toBe('baseline-2');
  });

  it('a missing file is a ConfigError listing the experiments there are', () => {
    const error = errorOf(() => resolveConfigPath('exp9.yaml', configs));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/config file not found: exp9\.yaml/);
    expect(error.hint).toMatch(/base\.yaml, exp1\.yaml|exp1\.yaml, base\.yaml/);
  });

  it('checks ranges and cross-section rules in the schema: flipping digits is refused', () => {
    const flip = errorOf(() =>
      loadExperimentConfig({
        file: 'exp1.yaml',
        configsDir: configs,
        overrides: ['train.augmentation.flip=true'],
      }),
    );
    expect(flip).toBeInstanceOf(ConfigError);
    expect(flip.message).toMatch(/train\.augmentation\.flip: flipping mnist images changes what they show/);
    const range = errorOf(() =>
      loadExperimentConfig({
        file: 'exp1.yaml',
        configsDir: configs,
        overrides: ['train.labelSmoothing=1', 'train.schedule.name=linear'],
      }),
    );
    expect(range.message).toMatch(/train\.labelSmoothing: /);
    expect(range.message).toMatch(/train\.schedule\.name: expected one of "constant", "step", "cosine"/);
    const fashion = loadExperimentConfig({
      file: 'exp1.yaml',
      configsDir: configs,
      overrides: ['data.source={kind: fashion-mnist}', 'train.augmentation.flip=true'],
    });
    expect(fashion.config.train.augmentation.flip).toBe(true);
  });
});
