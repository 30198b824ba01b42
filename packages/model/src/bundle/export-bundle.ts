import { createHash } from 'node:crypto';
import type * as tfl from '@tensorflow/tfjs-layers';
import { joinUri, type Logger, type Storage, StorageError, sha256Hex } from '@tfmlops/core';
import type { PreprocessSpec } from '@tfmlops/data';
import {
  captureArtifacts,
  type ModelArtifacts,
  modelFromArtifacts,
  modelJsonFor,
  quantizeArtifacts,
  shardWeights,
} from './artifacts.ts';
import {
  BUNDLE_FILE,
  BUNDLE_FORMAT_VERSION,
  type BundleFile,
  type BundleManifest,
  bundleManifestSchema,
  LATEST_POINTER_FILE,
  type LatestPointer,
  MODEL_FILE,
  type Quantization,
  REFERENCE_FILE,
} from './format.ts';
import type { GitInfo } from './provenance.ts';
import { readBundleManifest, verifyBundleFiles } from './read-bundle.ts';
import type { ReferenceStatistics } from './reference.ts';

/** Everything a bundle records besides the weights. */
export interface BundleContents {
  model: tfl.LayersModel;
  name: string;
  labels: string[];
  inputShape: [number, number, number];
  preprocess: PreprocessSpec;
  normalization: { mean: number[]; std: number[] };
  architecture: string;
  embeddingLayer: string | null;
  reference: ReferenceStatistics;
  metrics: Record<string, number | null>;
  dataset: { name: string; version: string; uri: string };
  config: Record<string, unknown>;
  git: GitInfo;
  run: string | null;
  quantize: Quantization;
  /** Test accuracy of `model` as trained (float32), recorded as the "before" of quantization. */
  accuracy?: number | null;
  /** Measures the test accuracy of a quantized model, for the "after" (the trainer passes its evaluation). */
  measureAccuracy?: (model: tfl.LayersModel) => Promise<number>;
  createdAt?: Date;
}

/**
 * Writes a complete bundle into `dirUri` (normally the run's `bundle/` directory): weight shards, model.json,
 * reference.json, then bundle.json with every file's SHA-256 and size. Returns its manifest.
 */
export async function writeBundle(
  dirUri: string,
  contents: BundleContents,
  storage: Storage,
): Promise<BundleManifest> {
  const float = await captureArtifacts(contents.model);
  const artifacts = quantizeArtifacts(float, contents.quantize);
  let accuracyAfter = contents.accuracy ?? null;
  if (contents.quantize !== 'none') {
    accuracyAfter = null;
    if (contents.measureAccuracy) {
      const quantized = await modelFromArtifacts(artifacts);
      try {
        accuracyAfter = await contents.measureAccuracy(quantized);
      } finally {
        quantized.dispose();
      }
    }
  }
  const createdAt = contents.createdAt ?? new Date();
  const version = bundleVersion(createdAt, artifacts);

  const files: BundleFile[] = [];
  const put = async (path: string, data: Uint8Array | string) => {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    await storage.write(joinUri(dirUri, path), bytes);
    files.push({ path, sha256: sha256Hex(bytes), bytes: bytes.byteLength });
  };
  const shards = shardWeights(artifacts.weightData);
  for (const shard of shards) await put(shard.path, shard.data);
  await put(
    MODEL_FILE,
    `${JSON.stringify(
      modelJsonFor(
        artifacts,
        shards.map((s) => s.path),
      ),
    )}\n`,
  );
  await put(REFERENCE_FILE, `${JSON.stringify(contents.reference)}\n`);

  const manifest = bundleManifestSchema.parse({
    formatVersion: BUNDLE_FORMAT_VERSION,
    name: contents.name,
    version,
    createdAt: createdAt.toISOString(),
    labels: contents.labels,
    inputShape: contents.inputShape,
    preprocess: contents.preprocess,
    normalization: contents.normalization,
    model: {
      architecture: contents.architecture,
      format: 'tfjs-layers-model',
      outputs: 'logits',
      embeddingLayer: contents.embeddingLayer,
      parameters: contents.model.countParams(),
    },
    quantization: {
      dtype: contents.quantize,
      before: { weightBytes: float.weightData.byteLength, accuracy: contents.accuracy ?? null },
      after: { weightBytes: artifacts.weightData.byteLength, accuracy: accuracyAfter },
    },
    metrics: contents.metrics,
    dataset: contents.dataset,
    config: contents.config,
    git: contents.git,
    run: contents.run,
    files,
  } satisfies BundleManifest);
  await storage.write(joinUri(dirUri, BUNDLE_FILE), serializeManifest(manifest));
  return manifest;
}

export interface PublishOptions {
  storage: Storage;
  logger?: Logger;
}

export interface PublishedBundle {
  /** `<exportRoot>/<name>/<version>`. */
  uri: string;
  /** `<exportRoot>/<name>/latest.json`, now pointing at this version. */
  latestUri: string;
  manifest: BundleManifest;
}

/**
 * Publishes a written bundle: checks it, copies it to `<exportRoot>/<name>/<version>/` (create-only: a published
 * version is never overwritten, though a retry of the same bytes succeeds), checks the copy, and only then writes
 * `<exportRoot>/<name>/latest.json`. Should the copy fail (after the storage layer's retries), the error names the
 * intact source bundle so nothing is lost.
 */
export async function publishBundle(
  bundleDir: string,
  exportRoot: string,
  options: PublishOptions,
): Promise<PublishedBundle> {
  const { storage } = options;
  const { manifest, sha256 } = await readBundleManifest(bundleDir, storage);
  await verifyBundleFiles(bundleDir, manifest, storage);
  const target = joinUri(joinUri(exportRoot, manifest.name), manifest.version);
  try {
    for (const file of [...manifest.files.map((f) => f.path), BUNDLE_FILE]) {
      const data = await storage.read(joinUri(bundleDir, file));
      await writeOnce(storage, joinUri(target, file), data);
    }
    await verifyBundleFiles(target, manifest, storage);
  } catch (error) {
    throw new StorageError(
      'STORAGE_PUBLISH_FAILED',
      `could not publish bundle ${manifest.name}@${manifest.version} to ${target}`,
      {
        hint: `the complete bundle is intact at ${bundleDir}; once ${exportRoot} is reachable, publish it with: pnpm bundle publish ${bundleDir} --to ${exportRoot}`,
        cause: error,
      },
    );
  }
  const latestUri = joinUri(joinUri(exportRoot, manifest.name), LATEST_POINTER_FILE);
  const pointer: LatestPointer = {
    name: manifest.name,
    version: manifest.version,
    path: manifest.version,
    bundleSha256: sha256,
    createdAt: manifest.createdAt,
  };
  await storage.write(latestUri, `${JSON.stringify(pointer, null, 2)}\n`);
  options.logger?.info({ bundle: target, latest: latestUri }, 'bundle published');
  return { uri: target, latestUri, manifest };
}

/** Create-only write; an existing object with the very same bytes counts as done (a retried publish). */
async function writeOnce(storage: Storage, uri: string, data: Buffer): Promise<void> {
  try {
    await storage.write(uri, data, { ifNotExists: true });
  } catch (error) {
    if (!(error instanceof StorageError && error.code === 'STORAGE_EXISTS')) throw error;
    const existing = await storage.read(uri);
    if (!existing.equals(data)) {
      throw new StorageError('STORAGE_EXISTS', `${uri} already exists with different content`, {
        hint: 'published bundle versions are immutable; export again to get a new version',
        cause: error,
      });
    }
  }
}

/** `<UTC timestamp>-<8 hex of the weights and topology>`: sortable, and different weights never share a version. */
function bundleVersion(createdAt: Date, artifacts: ModelArtifacts): string {
  const stamp = createdAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const hash = createHash('sha256')
    .update(JSON.stringify(artifacts.modelTopology))
    .update(JSON.stringify(artifacts.weightSpecs))
    .update(new Uint8Array(artifacts.weightData))
    .digest('hex');
  return `${stamp}-${hash.slice(0, 8)}`;
}

function serializeManifest(manifest: BundleManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
