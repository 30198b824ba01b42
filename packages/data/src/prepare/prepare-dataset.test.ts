import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createStorage, DataError } from '@tfmlops/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DataConfigInput, dataConfigSchema } from '../config.ts';
import { openDataset } from '../format/open-dataset.ts';
import type { SourceDataset } from '../sources/types.ts';
import { type SyntheticSourceOptions, syntheticSource } from '../testing/synthetic-source.ts';
import { prepareDataset } from './prepare-dataset.ts';

const storage = createStorage();
const logger = createLogger({ level: 'silent' });
let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'prepare-test-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function config(overrides: Partial<DataConfigInput> = {}) {
  return dataConfigSchema.parse({ name: 'synth', source: { kind: 'mnist' }, outputDir: root, ...overrides });
}

function prepare(cfg = config(), source: SourceDataset | SyntheticSourceOptions = {}, force = false) {
  const dataset = 'samples' in source ? source : syntheticSource(source);
  return prepareDataset(cfg, { storage, logger, force, loadSource: async () => dataset });
}

describe('prepareDataset', () => {
  it('prepares a class subset as its own version: labels re-indexed, names kept, other classes gone', async () => {
    const source = { classes: 4, perClass: 10, testPerClass: 2 };
    const all = await prepare(config(), source);
    const subset = await prepare(config({ classes: [3, 1] }), source);
    expect(subset.version).not.toBe(all.version);
    expect(subset.manifest.classNames).toEqual(['class-3', 'class-1']);
    expect(subset.manifest.counts.train.perClass).toEqual([9, 9]);
    expect(subset.manifest.counts.test).toEqual({ total: 4, perClass: [2, 2] });
    // The same subset again is up to date; the full dataset is untouched.
    expect((await prepare(config({ classes: [3, 1] }), source)).upToDate).toBe(true);
    expect((await prepare(config(), source)).version).toBe(all.version);
  });

  it('writes shards and a manifest with counts, shape, normalisation and shard hashes', async () => {
    const result = await prepare(config({ shardSizeMB: 1 / 1024 }), {
      classes: 3,
      perClass: 20,
      testPerClass: 4,
    });
    const { manifest } = result;
    expect(result.upToDate).toBe(false);
    expect(result.uri).toBe(join(root, 'synth', result.version));
    expect(manifest.imageShape).toEqual([8, 8, 1]); // taken from the raw source images
    expect(manifest.split.testSource).toBe('official');
    expect(manifest.counts.test).toEqual({ total: 12, perClass: [4, 4, 4] });
    expect(manifest.counts.val).toEqual({ total: 6, perClass: [2, 2, 2] });
    expect(manifest.counts.train).toEqual({ total: 54, perClass: [18, 18, 18] });
    // 1 KiB shards hold 16 images of 64 bytes: train needs 4 shards.
    expect(manifest.shardMaxImages).toBe(16);
    expect(manifest.shards.filter((s) => s.split === 'train').map((s) => s.file)).toEqual([
      'train-00000.bin',
      'train-00001.bin',
      'train-00002.bin',
      'train-00003.bin',
    ]);
    // Synthetic class brightness is ~33, 100, 167 of 255 with symmetric noise: mean ~0.39.
    expect(manifest.normalization.mean[0]).toBeCloseTo(100 / 255, 1);
    expect(manifest.normalization.std[0]).toBeGreaterThan(0.1);
    const files = (await readdir(result.uri)).sort();
    expect(files).toEqual([...manifest.shards.map((s) => s.file), 'manifest.json'].sort());
    expect(JSON.parse(await readFile(join(root, 'synth', 'latest.json'), 'utf8'))).toEqual({
      version: result.version,
    });
  });

  it('gives the same version (and identical files) for the same inputs, and reuses it', async () => {
    const first = await prepare();
    const second = await prepare();
    expect(second.upToDate).toBe(true);
    expect(second.version).toBe(first.version);

    // Another checkout: same data found at another path (origin), written to another output directory.
    const moved = { ...syntheticSource(), origin: '/somewhere/else' };
    const elsewhere = await prepare(config({ outputDir: join(root, 'other') }), moved);
    expect(elsewhere.upToDate).toBe(false);
    expect(elsewhere.version).toBe(first.version);
    const shardsOf = async (uri: string) =>
      JSON.parse(await readFile(join(uri, 'manifest.json'), 'utf8')).shards;
    expect(await shardsOf(elsewhere.uri)).toEqual(await shardsOf(first.uri));
  });

  it('changes the version when any parameter or the input data changes', async () => {
    const base = await prepare();
    const variants = [
      await prepare(config({ split: { seed: 1 } })),
      await prepare(config({ split: { valFraction: 0.3 } })),
      await prepare(config({ preprocess: { width: 6, height: 6, channels: 1 } })),
      await prepare(config({ preprocess: { resize: 'crop', width: 6, height: 6, channels: 1 } })),
      await prepare(config({ shardSizeMB: 1 / 2048 })),
      await prepare(config(), { variant: 1 }),
    ];
    const versions = new Set([base.version, ...variants.map((v) => v.version)]);
    expect(versions.size).toBe(1 + variants.length);
    expect(variants.every((v) => !v.upToDate)).toBe(true);
    // latest.json follows the newest prepare; the old versions stay available.
    expect(JSON.parse(await readFile(join(root, 'synth', 'latest.json'), 'utf8')).version).toBe(
      variants.at(-1)?.version,
    );
    expect(existsSync(base.uri)).toBe(true);
  });

  it('skips corrupt images, counts and lists them, and keeps going', async () => {
    const cfg = config({ preprocess: { width: 8, height: 8, channels: 1 } });
    const result = await prepare(cfg, {
      encoded: true,
      classes: 2,
      perClass: 10,
      corruptIds: ['train/1/00003', 'train/0/00007'],
    });
    const { manifest } = result;
    expect(manifest.skipped.map((s) => s.id).sort()).toEqual(['train/0/00007', 'train/1/00003']);
    expect(manifest.skipped[0]?.reason).toMatch(/cannot decode image/);
    const total = manifest.counts.train.total + manifest.counts.val.total + manifest.counts.test.total;
    expect(total).toBe(18);
    expect(manifest.shards.reduce((sum, s) => sum + s.count, 0)).toBe(18);
  });

  it('leaves no partial dataset when interrupted, and a later run cleans up and succeeds', async () => {
    const source = syntheticSource({ encoded: true, classes: 2, perClass: 40 });
    const broken: SourceDataset = {
      ...source,
      samples: source.samples.map((sample, i) =>
        i === 50
          ? { ...sample, image: { kind: 'encoded', read: () => Promise.reject(new Error('disk vanished')) } }
          : sample,
      ),
    };
    const cfg = config({ preprocess: { width: 8, height: 8, channels: 1 }, shardSizeMB: 1 / 1024 });
    await expect(prepare(cfg, broken)).rejects.toThrow('disk vanished');
    expect(await readdir(join(root, 'synth'))).toEqual([]);

    // A run killed outright (no cleanup) leaves its staging directory named after its dead pid.
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
    const abandoned = join(root, 'synth', `.partial-${deadPid}-deadbeef`);
    await mkdir(abandoned);
    await writeFile(join(abandoned, 'train-00000.bin'), 'half a shard');
    const result = await prepare(cfg, source);
    expect((await readdir(join(root, 'synth'))).sort()).toEqual([result.version, 'latest.json'].sort());
  });

  it('detects a damaged shard on load, then rebuilds it on the next prepare', async () => {
    const first = await prepare();
    const shard = first.manifest.shards[0];
    if (!shard) throw new Error('no shard');
    const path = join(first.uri, shard.file);
    const bytes = await readFile(path);
    bytes[bytes.length - 1] = (bytes.at(-1) ?? 0) ^ 0xff; // same size, different content
    await writeFile(path, bytes);

    const error = await openDataset(first.uri, { storage }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).code).toBe('DATA_CHECKSUM_MISMATCH');
    expect((error as DataError).message).toContain(shard.file);
    expect((error as DataError).hint).toContain('pnpm data prepare');

    const again = await prepare();
    expect(again.upToDate).toBe(false);
    expect(again.version).toBe(first.version);
    const reopened = await openDataset(join(root, 'synth'), { storage });
    expect(reopened.version).toBe(first.version);
  });

  it('asks for a size when an encoded source has none configured', async () => {
    await expect(prepare(config(), { encoded: true })).rejects.toThrow(/needs width, height and channels/);
  });
});
