import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError, joinUri, MlopsError, ModelLoadError, type Storage } from '@tfmlops/core';
import { registerCustomLayers } from './custom-layers.ts';

/** Where loadPretrained reads from: storage for paths, file:// and gs://, fetch for http(s) URLs. */
export interface PretrainedSource {
  storage: Storage;
  /** HTTP client for https:// URLs; the global fetch by default (tests inject their own). */
  fetch?: typeof globalThis.fetch;
  /** Per request (model.json, each shard), from sending it to the last byte of the body. Default 60 s. */
  timeoutMs?: number;
  /** Extra attempts after a network error, a timeout or a 5xx. Default 2. */
  retries?: number;
  /**
   * Maps `model.uri` to the model.json (or its directory) to read, before anything is read; for example a model
   * bundle's latest.json pointer to the bundle directory it names. Without it the URI is read as written.
   */
  resolveUri?: (uri: string) => Promise<string>;
}

/** model.json of a TF.js LayersModel, as the layers format writes it. */
export interface ModelJson {
  modelTopology: Record<string, unknown>;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_RETRIES = 2;
const HTTP = /^https?:\/\//i;

/**
 * Loads any TF.js LayersModel (model.json + weight shards) from a storage URI (a local path, file:// or gs://, a
 * directory holding model.json or the model.json itself) or an https:// URL, and builds it in memory with
 * `tf.io.fromMemory`. This project's custom layers are registered first, so saved ViTs load too.
 * Missing or malformed models are ConfigErrors (the config points at the wrong thing); network failures that
 * outlast the retries are ModelLoadErrors.
 */
export async function loadPretrained(uri: string, source: PretrainedSource): Promise<tfl.LayersModel> {
  const { modelJsonUri, modelJson } = await readModelJson(uri, source);
  const shards: Uint8Array[] = [];
  for (const group of modelJson.weightsManifest) {
    for (const path of group.paths) shards.push(await readRelative(modelJsonUri, path, source));
  }
  const weightData = concat(shards);
  const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
  const expected = expectedWeightBytes(weightSpecs);
  if (expected !== undefined && expected !== weightData.byteLength) {
    throw new ConfigError(
      `pretrained model ${modelJsonUri}: its weight shards hold ${weightData.byteLength} bytes, the manifest describes ${expected}`,
      { hint: 'a shard is truncated or belongs to another model; export the model again' },
    );
  }
  registerCustomLayers();
  try {
    return await tfl.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: modelJson.modelTopology,
        weightSpecs,
        weightData: weightData.buffer as ArrayBuffer,
        format: modelJson.format,
        generatedBy: modelJson.generatedBy,
        convertedBy: modelJson.convertedBy ?? undefined,
      }),
    );
  } catch (error) {
    throw new ConfigError(`pretrained model ${modelJsonUri} does not build: ${(error as Error).message}`, {
      hint: 'a layer class this project does not know, or weights that do not match the topology',
      cause: error,
    });
  }
}

/** Reads and checks model.json only (no weights): what validation needs before a run starts. */
export async function readModelJson(
  uri: string,
  source: PretrainedSource,
): Promise<{ modelJsonUri: string; modelJson: ModelJson }> {
  const modelJsonUri = modelJsonLocation(source.resolveUri ? await source.resolveUri(uri) : uri);
  const bytes = await readLocation(modelJsonUri, source);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new ConfigError(`pretrained model ${modelJsonUri} is not JSON`, {
      hint: 'model.uri must name a TF.js LayersModel: a directory with model.json, or the model.json',
      cause: error,
    });
  }
  return { modelJsonUri, modelJson: checkModelJson(parsed, modelJsonUri) };
}

/** The model.json a URI means: the URI itself when it names a .json file, else model.json inside it. */
export function modelJsonLocation(uri: string): string {
  checkScheme(uri);
  if (/\.json$/i.test(uri)) return uri;
  if (HTTP.test(uri)) return new URL('model.json', uri.endsWith('/') ? uri : `${uri}/`).toString();
  return joinUri(uri, 'model.json');
}

function checkScheme(uri: string): void {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === 'file' || scheme === 'gs' || scheme === 'https') return;
  if (scheme === 'http') {
    // Weights fetched over plain HTTP could be swapped on the way; only this machine's own servers are trusted.
    const host = new URL(uri).hostname;
    if (host === 'localhost' || host === '127.0.0.1' || host === '[::1]') return;
    throw new ConfigError(`model.uri '${uri}' uses plain http`, {
      hint: `use https://${uri.slice('http://'.length)} (plain http is accepted for localhost only)`,
    });
  }
  throw new ConfigError(`model.uri '${uri}' has an unsupported scheme '${scheme}://'`, {
    hint: 'use a local path, file:///absolute/path, gs://bucket/path or an https:// URL',
  });
}

function checkModelJson(parsed: unknown, where: string): ModelJson {
  const json = parsed as Partial<ModelJson> | null;
  if (json?.format === 'graph-model') {
    throw new ConfigError(`pretrained model ${where} is a TF.js GraphModel, not a LayersModel`, {
      hint:
        'graph models cannot be cut or fine-tuned; convert a Keras model with ' +
        'tensorflowjs_converter --output_format=tfjs_layers_model',
    });
  }
  const manifestOk =
    Array.isArray(json?.weightsManifest) &&
    json.weightsManifest.every(
      (group) =>
        Array.isArray(group?.paths) &&
        group.paths.every((path) => typeof path === 'string') &&
        Array.isArray(group.weights),
    );
  if (typeof json?.modelTopology !== 'object' || json.modelTopology === null || !manifestOk) {
    throw new ConfigError(`pretrained model ${where} is not a TF.js LayersModel model.json`, {
      hint: 'it needs modelTopology and weightsManifest [{paths, weights}], as model.save() writes them',
    });
  }
  return json as ModelJson;
}

async function readRelative(
  modelJsonUri: string,
  path: string,
  source: PretrainedSource,
): Promise<Uint8Array> {
  if (HTTP.test(modelJsonUri)) return readLocation(new URL(path, modelJsonUri).toString(), source);
  const slash = modelJsonUri.lastIndexOf('/');
  return readLocation(slash < 0 ? path : joinUri(modelJsonUri.slice(0, slash), path), source);
}

async function readLocation(location: string, source: PretrainedSource): Promise<Uint8Array> {
  if (HTTP.test(location)) return httpGet(location, source);
  try {
    return await source.storage.read(location);
  } catch (error) {
    if (error instanceof MlopsError && error.code === 'STORAGE_NOT_FOUND') {
      throw new ConfigError(`pretrained model: ${location} does not exist`, {
        hint: 'model.uri must name a saved TF.js LayersModel (a directory with model.json and its shards)',
        cause: error,
      });
    }
    throw error;
  }
}

async function httpGet(url: string, source: PretrainedSource): Promise<Uint8Array> {
  const fetchImpl = source.fetch ?? globalThis.fetch;
  const timeoutMs = source.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const attempts = 1 + (source.retries ?? DEFAULT_RETRIES);
  let failure: Error | undefined;
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** (attempt - 2)));
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      // Redirects are followed per request (up to 20). Shard paths resolve against the model.json URL as written,
      // as tfjs's own http loader does: a moved directory redirects its shards too, and a signed redirect target
      // (release assets behind a CDN) never becomes the base of other files.
      const response = await fetchImpl(url, { redirect: 'follow', signal });
      if (response.ok) return new Uint8Array(await response.arrayBuffer());
      const answer = `GET ${url} answered ${response.status} ${response.statusText}`.trim();
      await response.body?.cancel();
      if (response.status === 404 || response.status === 410) {
        throw new ConfigError(`pretrained model: ${answer}`, {
          hint: 'check model.uri: model.json and its weight shards must be downloadable next to each other',
        });
      }
      if (response.status < 500) {
        throw new ModelLoadError('MODEL_FETCH_FAILED', answer, {
          hint:
            response.status === 401 || response.status === 403
              ? 'the URL must be readable without credentials (no auth headers are sent)'
              : 'check model.uri',
        });
      }
      failure = new ModelLoadError('MODEL_FETCH_FAILED', answer, {
        hint: 'the server failed; try again later',
      });
    } catch (error) {
      if (error instanceof MlopsError) throw error;
      const timedOut = signal.aborted;
      failure = timedOut
        ? new ModelLoadError(
            'MODEL_FETCH_TIMEOUT',
            `GET ${url} did not complete within ${(timeoutMs / 1000).toFixed(1)} s`,
            { hint: 'check the network and the URL', cause: error },
          )
        : new ModelLoadError('MODEL_FETCH_FAILED', `GET ${url} failed: ${(error as Error).message}`, {
            hint: 'check the network and the URL',
            cause: error,
          });
    }
  }
  throw failure!;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

const BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  complex64: 8,
  float16: 2,
  uint8: 1,
  uint16: 2,
};

/** Bytes the weight specs describe, or undefined when a dtype has no fixed size (strings). */
function expectedWeightBytes(specs: tf.io.WeightsManifestEntry[]): number | undefined {
  let total = 0;
  for (const spec of specs) {
    const bytes = BYTES[spec.quantization?.dtype ?? spec.dtype];
    if (bytes === undefined) return undefined;
    total += spec.shape.reduce((size, side) => size * side, 1) * bytes;
  }
  return total;
}
