import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { isGcsUri, joinUri, type Logger, ModelLoadError, type Storage, sha256Hex } from '@tfmlops/core';
import { z } from 'zod';
import { modelFromArtifacts } from './artifacts.ts';
import { type BundleManifest, MODEL_FILE, REFERENCE_FILE } from './format.ts';
import { readBundleManifest, resolveBundle, verifyBundleFiles } from './read-bundle.ts';
import { type ReferenceStatistics, referenceStatisticsSchema } from './reference.ts';

export interface LoadBundleOptions {
  storage: Storage;
  /**
   * Local directory where remote (gs://) bundles are kept after download, as `<cacheDir>/<name>/<version>/`. A cached
   * file is used only when its SHA-256 still matches bundle.json. Omitted: remote bundles are held in memory only.
   */
  cacheDir?: string;
  logger?: Logger;
}

export interface LoadedBundle {
  /** The bundle directory it was loaded from. */
  uri: string;
  /** SHA-256 of its bundle.json: two loads with the same value loaded the same bundle. */
  sha256: string;
  manifest: BundleManifest;
  reference: ReferenceStatistics;
  /** The network; outputs are what `manifest.model.outputs` says (logits for the product's architectures). */
  model: tfl.LayersModel;
  dispose(): void;
}

/**
 * Loads a model bundle for inference: resolves the URI (bundle directory, bundle.json or latest.json; local, file://
 * or gs://), downloads remote files into the cache, verifies every file's size and SHA-256 against bundle.json
 * (and bundle.json against the pointer), then builds the model from exactly the verified bytes. A mismatch is a
 * `ModelLoadError` naming the file. The service and `pnpm evaluate` both load through here.
 */
export async function loadBundle(uri: string, options: LoadBundleOptions): Promise<LoadedBundle> {
  const { storage, logger } = options;
  const started = performance.now();
  const resolved = await resolveBundle(uri, storage);
  const { manifest, sha256 } = await readBundleManifest(
    resolved.dir,
    storage,
    resolved.pointer?.bundleSha256,
  );
  const files =
    options.cacheDir && isGcsUri(resolved.dir)
      ? await fetchThroughCache(
          resolved.dir,
          manifest,
          storage,
          joinUri(joinUri(options.cacheDir, manifest.name), manifest.version),
        )
      : await verifyBundleFiles(resolved.dir, manifest, storage);

  const modelJson = parseModelJson(files, manifest);
  const shards = modelJson.weightsManifest.flatMap((group) => group.paths);
  const missing = shards.filter((path) => !files.has(path));
  if (missing.length > 0) {
    throw new ModelLoadError(
      'MODEL_INVALID',
      `model.json of ${manifest.name}@${manifest.version} names weight files bundle.json does not list: ${missing.join(', ')}`,
      {
        hint: 'the bundle was assembled by hand or is damaged; re-export it',
      },
    );
  }
  const weightData = Buffer.concat(shards.map((path) => files.get(path) as Buffer));
  let model: tfl.LayersModel;
  try {
    model = await modelFromArtifacts({
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest.flatMap((group) => group.weights),
      weightData: weightData.buffer.slice(
        weightData.byteOffset,
        weightData.byteOffset + weightData.byteLength,
      ) as ArrayBuffer,
      format: modelJson.format,
      generatedBy: modelJson.generatedBy,
      convertedBy: modelJson.convertedBy,
    });
  } catch (cause) {
    throw new ModelLoadError(
      'MODEL_INVALID',
      `cannot build the network of ${manifest.name}@${manifest.version}: ${(cause as Error).message}`,
      {
        hint: 'the bundle needs a newer version of this package (an unknown layer?) or is damaged',
        cause,
      },
    );
  }
  let reference: ReferenceStatistics;
  try {
    checkShapes(model, manifest);
    reference = parseReference(files, manifest);
  } catch (error) {
    // A failed load must not leave a model behind: the service retries reloads, and each would leak its weights.
    model.dispose();
    throw error;
  }
  logger?.info(
    {
      bundle: resolved.dir,
      name: manifest.name,
      version: manifest.version,
      seconds: (performance.now() - started) / 1000,
    },
    'model bundle loaded and verified',
  );
  return { uri: resolved.dir, sha256, manifest, reference, model, dispose: () => model.dispose() };
}

interface ModelJson {
  modelTopology: object;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
}

/** The drift reference the bundle carries, checked against its schema; a bundle without a valid one is refused. */
function parseReference(files: Map<string, Buffer>, manifest: BundleManifest): ReferenceStatistics {
  const bytes = files.get(REFERENCE_FILE);
  const where = `${REFERENCE_FILE} of ${manifest.name}@${manifest.version}`;
  if (!bytes) {
    throw new ModelLoadError(
      'MODEL_INVALID',
      `bundle ${manifest.name}@${manifest.version} lists no ${REFERENCE_FILE}`,
      {
        hint: 're-export the bundle with this version of the model package (it writes the reference statistics)',
      },
    );
  }
  const parsed = referenceStatisticsSchema.safeParse(parseJson(bytes, where));
  if (!parsed.success) {
    throw new ModelLoadError('MODEL_INVALID', `${where} is not valid: ${z.prettifyError(parsed.error)}`, {
      hint: 're-export the bundle; its reference statistics were written by another version or edited',
    });
  }
  return parsed.data;
}

function parseJson(bytes: Buffer, where: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new ModelLoadError('MODEL_INVALID', `${where} is not JSON: ${(cause as Error).message}`, {
      hint: 're-export the bundle',
      cause,
    });
  }
}

function parseModelJson(files: Map<string, Buffer>, manifest: BundleManifest): ModelJson {
  const bytes = files.get(MODEL_FILE);
  if (!bytes) {
    throw new ModelLoadError(
      'MODEL_INVALID',
      `bundle ${manifest.name}@${manifest.version} lists no ${MODEL_FILE}`,
      {
        hint: 're-export the bundle',
      },
    );
  }
  const json = parseJson(
    bytes,
    `${MODEL_FILE} of ${manifest.name}@${manifest.version}`,
  ) as Partial<ModelJson>;
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new ModelLoadError(
      'MODEL_INVALID',
      `${MODEL_FILE} of ${manifest.name}@${manifest.version} is not a TF.js layers model`,
      {
        hint: 'a bundle holds a LayersModel (model.json with modelTopology and weightsManifest)',
      },
    );
  }
  return json as ModelJson;
}

/** The network must take the bundle's input shape and give one output per label, or predictions would be nonsense. */
function checkShapes(model: tfl.LayersModel, manifest: BundleManifest): void {
  const input = model.inputs[0]?.shape.slice(1);
  const output = model.outputs[0]?.shape.slice(1);
  const expectedInput = manifest.inputShape.join('x');
  if (input?.join('x') !== expectedInput || output?.length !== 1 || output[0] !== manifest.labels.length) {
    model.dispose();
    throw new ModelLoadError(
      'MODEL_INVALID',
      `the network of ${manifest.name}@${manifest.version} takes ${input?.join('x')} and gives ${output?.join('x')} outputs, ` +
        `but bundle.json says ${expectedInput} inputs and ${manifest.labels.length} labels`,
      { hint: 'model.json and bundle.json come from different exports; re-export the bundle' },
    );
  }
}

/** Remote bundle files through a local cache: cached bytes are used only while their SHA-256 still matches. */
async function fetchThroughCache(
  dir: string,
  manifest: BundleManifest,
  storage: Storage,
  cacheDir: string,
): Promise<Map<string, Buffer>> {
  const stale: BundleManifest['files'] = [];
  const files = new Map<string, Buffer>();
  for (const file of manifest.files) {
    const cached = await storage.read(joinUri(cacheDir, file.path)).catch(() => undefined);
    if (cached && cached.byteLength === file.bytes && sha256Hex(cached) === file.sha256)
      files.set(file.path, cached);
    else stale.push(file);
  }
  if (stale.length === 0) return files;
  const fetched = await verifyBundleFiles(dir, { ...manifest, files: stale }, storage);
  for (const [path, data] of fetched) {
    await storage.write(joinUri(cacheDir, path), data);
    files.set(path, data);
  }
  return files;
}
