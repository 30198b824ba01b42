import { createLogger, createStorage, type Storage } from '@tfmlops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsEmulator } from '../../../../tests/support/gcs-emulator/index.ts';
import { dataConfigSchema } from '../config.ts';
import { openDataset } from '../format/open-dataset.ts';
import { syntheticSource } from '../testing/synthetic-source.ts';
import { prepareDataset } from './prepare-dataset.ts';

describe('prepareDataset to gs:// (GCS emulator)', () => {
  const emulator = new GcsEmulator();
  let gcs: Storage;
  beforeAll(async () => {
    const endpoint = await emulator.start();
    emulator.createBucket('datasets');
    gcs = createStorage({
      gcs: { apiEndpoint: endpoint, projectId: 'test', retry: { maxRetries: 1, maxRetryDelaySeconds: 1 } },
    });
  });
  afterAll(() => emulator.stop());

  it('publishes shards then manifest, reopens with hash checks, and reuses the version', async () => {
    const config = dataConfigSchema.parse({
      name: 'remote',
      source: { kind: 'mnist' },
      outputDir: 'gs://datasets/processed',
    });
    const source = syntheticSource({ classes: 2, perClass: 10 });
    const options = {
      storage: gcs,
      logger: createLogger({ level: 'silent' }),
      loadSource: async () => source,
    };
    const first = await prepareDataset(config, options);
    expect(first.uri).toBe(`gs://datasets/processed/remote/${first.version}`);
    const objects = (await gcs.list('gs://datasets/processed/remote')).map((e) => e.relativePath);
    expect(objects).toContain('latest.json');
    expect(objects).toContain(`${first.version}/manifest.json`);
    const dataset = await openDataset('gs://datasets/processed/remote', { storage: gcs });
    expect(dataset.version).toBe(first.version);
    expect(dataset.count('train') + dataset.count('val') + dataset.count('test')).toBe(20);
    const again = await prepareDataset(config, options);
    expect(again.upToDate).toBe(true);
  });
});
