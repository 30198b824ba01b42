import { DataError, joinUri, type Storage, sha256Hex } from '@tfmlops/core';
import type { Batch, BatchOptions } from '../loader/batches.ts';
import { iterateBatches } from '../loader/batches.ts';
import {
  computeDatasetVersion,
  type DatasetManifest,
  LATEST_FILE,
  MANIFEST_FILE,
  manifestSchema,
  type ShardEntry,
  type SplitName,
} from './manifest.ts';
import { decodeShard, type Shard } from './shard.ts';

export interface OpenDatasetOptions {
  storage: Storage;
  /**
   * `eager` (default) reads and hashes every shard now, so a damaged dataset fails before training starts; `lazy`
   * only checks that the shards exist with the right sizes. Every shard read is hash-checked in both modes.
   */
  verify?: 'eager' | 'lazy';
  /** Datasets up to this many bytes are kept in memory after the first read (the fast path); default 1 GiB. */
  memoryBudgetBytes?: number;
}

const DEFAULT_MEMORY_BUDGET = 1024 * 1024 * 1024;

/**
 * A prepared dataset version, opened for reading: its manifest, verified shards, and batches for training.
 * What the model package trains and evaluates from.
 */
export class PreparedDataset {
  readonly version: string;
  readonly classNames: string[];
  /** [height, width, channels]. */
  readonly imageShape: [number, number, number];
  private readonly cache = new Map<string, Shard>();
  private readonly keepInMemory: boolean;

  constructor(
    /** URI of the version directory (the one holding manifest.json). */
    readonly uri: string,
    readonly manifest: DatasetManifest,
    private readonly storage: Storage,
    memoryBudgetBytes: number,
  ) {
    this.version = manifest.version;
    this.classNames = manifest.classNames;
    this.imageShape = manifest.imageShape;
    this.keepInMemory = manifest.shards.reduce((sum, shard) => sum + shard.bytes, 0) <= memoryBudgetBytes;
  }

  count(split: SplitName): number {
    return this.manifest.counts[split].total;
  }

  shards(split: SplitName): ShardEntry[] {
    return this.manifest.shards.filter((shard) => shard.split === split);
  }

  /** True when every shard of the dataset is (or will be) held in memory after its first read. */
  get inMemory(): boolean {
    return this.keepInMemory;
  }

  /** Reads one shard, checks its SHA-256 against the manifest and its header against the manifest's shape. */
  async readShard(entry: ShardEntry): Promise<Shard> {
    const cached = this.cache.get(entry.file);
    if (cached) return cached;
    const uri = joinUri(this.uri, entry.file);
    const data = await this.storage.read(uri);
    const actual = sha256Hex(data);
    if (actual !== entry.sha256) {
      throw new DataError(
        'DATA_CHECKSUM_MISMATCH',
        `shard ${entry.file} of dataset ${this.manifest.name}@${this.version} has SHA-256 ${actual.slice(0, 16)}…, the manifest says ${entry.sha256.slice(0, 16)}… (${uri})`,
        {
          hint: `the file changed after prepare; rebuild it with \`pnpm data prepare --force --config <your config>\``,
        },
      );
    }
    const shard = decodeShard(data, entry.file);
    const [height, width, channels] = this.imageShape;
    if (
      shard.count !== entry.count ||
      shard.height !== height ||
      shard.width !== width ||
      shard.channels !== channels
    ) {
      throw new DataError('DATA_SHARD_CORRUPT', `shard ${entry.file} header disagrees with manifest.json`, {
        hint: 'rebuild the dataset with `pnpm data prepare --force`',
      });
    }
    if (this.keepInMemory) this.cache.set(entry.file, shard);
    return shard;
  }

  /** Reads and hash-checks every shard; throws DataError on the first mismatch. */
  async verify(): Promise<void> {
    for (const entry of this.manifest.shards) {
      await this.readShard(entry);
    }
  }

  /** Batches of normalised float32 images `[B,H,W,C]` and labels; see {@link BatchOptions}. The caller disposes. */
  batches(split: SplitName, options: BatchOptions): AsyncIterable<Batch> {
    return iterateBatches(this, split, options);
  }
}

/**
 * Opens a prepared dataset: `uri` is a version directory (holding manifest.json) or a dataset directory (holding
 * latest.json, e.g. `data/processed/mnist`), local or gs://. Checks the manifest's schema and content hash and the
 * shards' sizes (and, with `verify: 'eager'`, their SHA-256).
 */
export async function openDataset(uri: string, options: OpenDatasetOptions): Promise<PreparedDataset> {
  const { storage } = options;
  const versionUri = await resolveVersionUri(uri, storage);
  const manifestUri = joinUri(versionUri, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse((await storage.read(manifestUri)).toString('utf8'));
  } catch (cause) {
    throw new DataError('DATA_BAD_MANIFEST', `cannot read ${manifestUri}`, {
      hint: 'rebuild the dataset with `pnpm data prepare`',
      cause,
    });
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new DataError('DATA_BAD_MANIFEST', `${manifestUri} is not a valid dataset manifest`, {
      hint: 'it was written by another format version or edited by hand; rebuild it with `pnpm data prepare`',
      cause: parsed.error,
    });
  }
  const manifest = parsed.data;
  if (computeDatasetVersion(manifest) !== manifest.version) {
    throw new DataError(
      'DATA_CHECKSUM_MISMATCH',
      `${manifestUri} was modified after prepare (content hash differs)`,
      {
        hint: 'rebuild the dataset with `pnpm data prepare --force`',
      },
    );
  }
  await checkShardSizes(versionUri, manifest, storage);
  const dataset = new PreparedDataset(
    versionUri,
    manifest,
    storage,
    options.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET,
  );
  if ((options.verify ?? 'eager') === 'eager') await dataset.verify();
  return dataset;
}

async function resolveVersionUri(uri: string, storage: Storage): Promise<string> {
  if (await storage.exists(joinUri(uri, MANIFEST_FILE))) return uri;
  const latestUri = joinUri(uri, LATEST_FILE);
  if (await storage.exists(latestUri)) {
    const latest = JSON.parse((await storage.read(latestUri)).toString('utf8')) as { version?: unknown };
    if (typeof latest.version === 'string' && /^[0-9a-f]{16}$/.test(latest.version)) {
      return joinUri(uri, latest.version);
    }
    throw new DataError('DATA_BAD_POINTER', `${latestUri} does not name a dataset version`, {
      hint: 're-run `pnpm data prepare` to rewrite it',
    });
  }
  throw new DataError(
    'DATA_NOT_FOUND',
    `no prepared dataset at ${uri} (neither ${MANIFEST_FILE} nor ${LATEST_FILE})`,
    {
      hint: 'run `pnpm data prepare --config <your config>` first, or pass the directory it printed',
    },
  );
}

async function checkShardSizes(
  versionUri: string,
  manifest: DatasetManifest,
  storage: Storage,
): Promise<void> {
  const present = new Map((await storage.list(versionUri)).map((entry) => [entry.relativePath, entry.size]));
  for (const shard of manifest.shards) {
    const size = present.get(shard.file);
    if (size === undefined) {
      throw new DataError(
        'DATA_SHARD_MISSING',
        `shard ${shard.file} listed in ${versionUri}/${MANIFEST_FILE} is missing`,
        {
          hint: 'the dataset was copied partially or damaged; rebuild it with `pnpm data prepare --force`',
        },
      );
    }
    if (size !== shard.bytes) {
      throw new DataError(
        'DATA_CHECKSUM_MISMATCH',
        `shard ${shard.file} is ${size} bytes, the manifest says ${shard.bytes} (${versionUri})`,
        { hint: 'the file was truncated or changed; rebuild it with `pnpm data prepare --force`' },
      );
    }
  }
}
