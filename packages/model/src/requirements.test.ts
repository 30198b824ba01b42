import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, createLogger, createStorage } from '@tfmlops/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadExperimentConfig } from './load-experiment.ts';
import { missingRequirements } from './requirements.ts';

let dir: string;
const storage = createStorage();
const logger = createLogger({ level: 'silent' });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'requirements-'));
  const experiment = (name: string, requires: string[]) =>
    writeFileSync(
      join(dir, `${name}.yaml`),
      `requires: [${requires.join(', ')}]\ndata:\n  source: { kind: mnist }\nexport:\n  uri: ${join(dir, 'models')}\n`,
    );
  experiment('base', []);
  experiment('middle', ['./base.yaml']);
  experiment('top', ['middle.yaml']);
  experiment('loop-a', ['loop-b.yaml']);
  experiment('loop-b', ['loop-a.yaml']);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const missing = async (name: string) => {
  const file = join(dir, `${name}.yaml`);
  const { config } = loadExperimentConfig({ file, env: {} });
  return (await missingRequirements(config, file, { storage, env: {}, logger })).map((m) => m.config.name);
};

describe('missingRequirements', () => {
  it('lists required experiments without a bundle, bases first, next to the requiring file', async () => {
    expect(await missing('top')).toEqual(['base', 'middle']);
    expect(await missing('base')).toEqual([]);
  });

  it('skips an experiment whose latest.json exists (and what only it needed)', async () => {
    mkdirSync(join(dir, 'models', 'middle'), { recursive: true });
    writeFileSync(join(dir, 'models', 'middle', 'latest.json'), '{}');
    expect(await missing('top')).toEqual([]);
    expect(await missing('middle')).toEqual(['base']);
  });

  it('refuses a cycle with a ConfigError naming the chain', async () => {
    await expect(missing('loop-a')).rejects.toThrow(ConfigError);
    await expect(missing('loop-a')).rejects.toThrow(
      /requires cycle: .*loop-a\.yaml -> .*loop-b\.yaml -> .*loop-a\.yaml/,
    );
  });
});
