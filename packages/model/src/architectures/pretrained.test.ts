import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError, createStorage, ModelLoadError } from '@tfmlops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsEmulator } from '../../../../tests/support/gcs-emulator/index.ts';
import { saveModel } from '../save-model.ts';
import {
  predictValues,
  saveAndReload,
  tinyBatch,
  trainSteps,
  useWasm,
  weightValues,
} from './architectures.test-support.ts';
import { createCnn } from './cnn.ts';
import { buildModel } from './factories.ts';
import { MODEL_LAYER_NAMES } from './layer-names.ts';
import { loadPretrained, type PretrainedSource } from './load-pretrained.ts';
import { modelConfigSchema } from './model-config.ts';
import { createPretrained, unfreezeTop } from './pretrained.ts';
import { createResnet } from './resnet.ts';
import { createVit } from './vit.ts';

const storage = createStorage();
let dir: string;
let server: Server;
let baseUrl: string;
const hits = new Map<string, number>();

/** A small CNN saved the way training saves models (model.json + weights.bin through Storage). */
async function savedCnn(name: string, seed = 3): Promise<{ uri: string; model: tfl.LayersModel }> {
  const model = createCnn({ inputShape: [12, 12, 1], numClasses: 4, seed });
  const uri = join(dir, name);
  await saveModel(model, uri, storage);
  return { uri, model };
}

beforeAll(async () => {
  await useWasm();
  dir = await mkdtemp(join(tmpdir(), 'pretrained-'));
  // A static file server for dir, with the failure modes the loader must handle.
  server = createServer(async (request, response) => {
    const path = new URL(request.url!, 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path.startsWith('/moved/')) {
      response.writeHead(302, { location: `/files/${path.slice('/moved/'.length)}` }).end();
    } else if (path.startsWith('/flaky/') && hits.get(path) === 1) {
      response.writeHead(503).end('busy');
    } else if (path.startsWith('/silent/')) {
      // Never answers: the client's timeout must end the wait.
    } else {
      const file = path.replace(/^\/(files|flaky)\//, '');
      const body = await readFile(join(dir, decodeURIComponent(file))).catch(() => undefined);
      if (body) response.writeHead(200).end(body);
      else response.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('loadPretrained', () => {
  it('loads a saved model by local path, file:// URI and http URL (through a redirect) with identical predictions', async () => {
    const { uri, model } = await savedCnn('cnn');
    const xs = tinyBatch([12, 12, 1], 4, 3, 1).xs;
    const expected = predictValues(model, xs);
    const sources = [
      uri,
      join(uri, 'model.json'),
      pathToFileURL(uri).href,
      `${baseUrl}/files/cnn/model.json`,
      `${baseUrl}/moved/cnn`,
    ];
    for (const source of sources) {
      const loaded = await loadPretrained(source, { storage });
      expect(predictValues(loaded, xs)).toEqual(expected);
      loaded.dispose();
    }
    // The redirected load really went through the redirect, for model.json and the shard.
    expect(hits.get('/moved/cnn/model.json')).toBe(1);
    expect(hits.get('/moved/cnn/weights.bin')).toBe(1);
    model.dispose();
    xs.dispose();
  });

  it('loads from a gs:// URI through storage (GCS emulator)', async () => {
    const emulator = new GcsEmulator();
    try {
      const endpoint = await emulator.start();
      emulator.createBucket('models');
      const gcs = createStorage({
        gcs: { apiEndpoint: endpoint, projectId: 'test', retry: { maxRetries: 0 } },
      });
      const model = createCnn({ inputShape: [12, 12, 1], numClasses: 4, seed: 9 });
      await saveModel(model, 'gs://models/base', gcs);
      const loaded = await loadPretrained('gs://models/base', { storage: gcs });
      expect(weightValues(loaded)).toEqual(weightValues(model));
      expect(
        emulator.requests.some(
          (r) => r.path.includes('base%2Fweights.bin') || r.path.includes('base/weights.bin'),
        ),
      ).toBe(true);
      loaded.dispose();
      model.dispose();
    } finally {
      await emulator.stop();
    }
  });

  it('joins weights split over several groups and shards in manifest order', async () => {
    const { uri, model } = await savedCnn('sharded');
    const json = JSON.parse(await readFile(join(uri, 'model.json'), 'utf8'));
    const data = await readFile(join(uri, 'weights.bin'));
    const specs = json.weightsManifest[0].weights as Array<{ shape: number[] }>;
    const firstGroupBytes = specs
      .slice(0, 2)
      .reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
    const half = Math.floor(firstGroupBytes / 2);
    await writeFile(join(uri, 'a1.bin'), data.subarray(0, half));
    await writeFile(join(uri, 'a2.bin'), data.subarray(half, firstGroupBytes));
    await writeFile(join(uri, 'b.bin'), data.subarray(firstGroupBytes));
    json.weightsManifest = [
      { paths: ['a1.bin', 'a2.bin'], weights: specs.slice(0, 2) },
      { paths: ['b.bin'], weights: specs.slice(2) },
    ];
    await writeFile(join(uri, 'model.json'), JSON.stringify(json));
    await rm(join(uri, 'weights.bin'));
    const loaded = await loadPretrained(uri, { storage });
    expect(weightValues(loaded)).toEqual(weightValues(model));
    // A truncated shard is caught before tfjs reads garbage.
    await writeFile(join(uri, 'b.bin'), data.subarray(firstGroupBytes, data.byteLength - 4));
    await expect(loadPretrained(uri, { storage })).rejects.toThrow(
      /hold \d+ bytes, the manifest describes \d+/,
    );
    loaded.dispose();
    model.dispose();
  });

  it('answers HTTP failures clearly: 404 is a config error, a 503 is retried, silence times out', async () => {
    await savedCnn('flaky');
    const missing = await loadPretrained(`${baseUrl}/files/nothing-here`, { storage }).catch((e) => e);
    expect(missing).toBeInstanceOf(ConfigError);
    expect(missing.message).toMatch(/GET .*nothing-here\/model.json answered 404/);

    const retried = await loadPretrained(`${baseUrl}/flaky/flaky`, { storage });
    expect(hits.get('/flaky/flaky/model.json')).toBe(2);
    retried.dispose();

    const started = performance.now();
    const silent = await loadPretrained(`${baseUrl}/silent/model.json`, {
      storage,
      timeoutMs: 200,
      retries: 1,
    }).catch((e) => e);
    expect(silent).toBeInstanceOf(ModelLoadError);
    expect(silent.code).toBe('MODEL_FETCH_TIMEOUT');
    expect(silent.message).toMatch(/did not complete within 0.2 s/);
    expect(hits.get('/silent/model.json')).toBe(2);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('goes through an injected fetch for https URLs and refuses plain http beyond this machine', async () => {
    const { uri, model } = await savedCnn('injected');
    const requested: string[] = [];
    const fetchFiles: PretrainedSource['fetch'] = async (input) => {
      const url = String(input);
      requested.push(url);
      return new Response(await readFile(join(uri, new URL(url).pathname.split('/').pop()!)));
    };
    const loaded = await loadPretrained('https://models.example/cnn/', { storage, fetch: fetchFiles });
    expect(requested).toEqual([
      'https://models.example/cnn/model.json',
      'https://models.example/cnn/weights.bin',
    ]);
    expect(weightValues(loaded)).toEqual(weightValues(model));
    // A resolver (a bundle's latest.json pointer, say) picks the location before anything is read.
    const resolved = await loadPretrained('pointer://cnn', {
      storage,
      fetch: fetchFiles,
      resolveUri: async (pointer) => pointer.replace('pointer://', 'https://mirror.example/'),
    });
    expect(requested.slice(2)).toEqual([
      'https://mirror.example/cnn/model.json',
      'https://mirror.example/cnn/weights.bin',
    ]);
    resolved.dispose();
    await expect(loadPretrained('http://models.example/cnn', { storage })).rejects.toThrow(/plain http/);
    await expect(loadPretrained('ftp://models.example/cnn', { storage })).rejects.toThrow(
      /unsupported scheme/,
    );
    await expect(loadPretrained(join(dir, 'absent'), { storage })).rejects.toBeInstanceOf(ConfigError);
    loaded.dispose();
    model.dispose();
  });
});

describe('createPretrained', () => {
  it('freezes the body (its weights do not move in a step), trains the head, and unfreezeTop opens the top layers', async () => {
    const { uri, model: original } = await savedCnn('body');
    original.dispose();
    const base = await loadPretrained(uri, { storage });
    const model = createPretrained({
      inputShape: [12, 12, 1],
      numClasses: 3,
      seed: 1,
      base,
      cutAt: 'flatten',
      head: { units: [8], dropout: 0.1 },
    });
    base.dispose();
    expect(model.layers.map((l) => l.name).slice(-4)).toEqual([
      'flatten',
      'head_dropout',
      'embedding',
      'logits',
    ]);
    expect(model.layers.filter((l) => l.trainable && l.weights.length > 0).map((l) => l.name)).toEqual([
      MODEL_LAYER_NAMES.embedding,
      MODEL_LAYER_NAMES.logits,
    ]);
    const weightsOf = (name: string) =>
      model
        .getLayer(name)
        .getWeights()
        .map((w) => w.dataSync().slice());
    const before = {
      conv1: weightsOf('conv1'),
      conv2: weightsOf('conv2'),
      embedding: weightsOf('embedding'),
    };
    const batch = tinyBatch([12, 12, 1], 3, 6, 4);
    const { losses } = trainSteps(model, batch, 6);
    expect(losses[5]!).toBeLessThan(losses[0]!);
    expect(weightsOf('conv1')).toEqual(before.conv1);
    expect(weightsOf('conv2')).toEqual(before.conv2);
    expect(weightsOf('embedding')).not.toEqual(before.embedding);

    expect(unfreezeTop(model, 1)).toEqual(['conv2']);
    trainSteps(model, batch, 2, 0.001); // a new optimizer at the lower rate, as the loop does after unfreezing
    expect(weightsOf('conv2')).not.toEqual(before.conv2);
    expect(weightsOf('conv1')).toEqual(before.conv1);
    expect(unfreezeTop(model, 5)).toEqual(['conv1']);
    tf.dispose([batch.xs, batch.ys]);
    model.dispose();
  });

  it('renames body layers the new head needs, so a model of ours can be fine-tuned again, saved and reloaded', async () => {
    const { uri, model: original } = await savedCnn('ours');
    const base = await loadPretrained(uri, { storage });
    original.dispose();
    const tensorsBefore = tf.memory().numTensors;
    // Cutting at the base's own `embedding` keeps it in the body, where it becomes `base_embedding`.
    const model = createPretrained({
      inputShape: [12, 12, 1],
      numClasses: 2,
      seed: 1,
      base,
      head: { units: [] },
    });
    base.dispose();
    expect(model.layers.map((l) => l.name)).toContain('base_embedding');
    expect(model.layers.slice(-2).map((l) => [l.name, l.getClassName()])).toEqual([
      ['embedding', 'Activation'],
      ['logits', 'Dense'],
    ]);
    // The base's variables are gone with it: only the new model's remain.
    expect(tf.memory().numTensors - tensorsBefore).toBe(model.weights.length - base.weights.length);
    const xs = tinyBatch([12, 12, 1], 2, 2, 5).xs;
    const reloaded = await saveAndReload(model);
    expect(predictValues(reloaded, xs)).toEqual(predictValues(model, xs));
    for (const t of [xs]) t.dispose();
    model.dispose();
    reloaded.dispose();
  });

  it('fine-tunes a saved ViT (its custom layers load) and the result saves and reloads', async () => {
    const vit = createVit({
      inputShape: [8, 8, 1],
      numClasses: 4,
      seed: 2,
      patchSize: 4,
      dim: 8,
      depth: 1,
      heads: 2,
    });
    const uri = join(dir, 'vit');
    await saveModel(vit, uri, storage);
    vit.dispose();
    const model = await buildModel(
      modelConfigSchema.parse({
        architecture: 'pretrained',
        uri: pathToFileURL(uri).href,
        head: { units: [6] },
      }),
      { inputShape: [8, 8, 1], numClasses: 3, seed: 1 },
      { storage },
    );
    expect(model.layers.map((l) => l.getClassName())).toContain('MultiHeadSelfAttention');
    const attention = model.getLayer('block1_attention');
    const frozen = attention.getWeights().map((w) => w.dataSync().slice());
    const batch = tinyBatch([8, 8, 1], 3, 6, 6);
    const { losses } = trainSteps(model, batch, 6);
    expect(losses[5]!).toBeLessThan(losses[0]!);
    expect(attention.getWeights().map((w) => w.dataSync().slice())).toEqual(frozen);
    const reloaded = await saveAndReload(model);
    expect(predictValues(reloaded, batch.xs)).toEqual(predictValues(model, batch.xs));
    tf.dispose([batch.xs, batch.ys]);
    model.dispose();
    reloaded.dispose();
  });

  it('runs frozen batch norm in inference mode: its moving statistics stay put in training steps', () => {
    const base = createResnet({ inputShape: [8, 8, 3], numClasses: 2, seed: 1, width: 4, stages: 1 });
    const model = createPretrained({
      inputShape: [8, 8, 3],
      numClasses: 2,
      seed: 1,
      base,
      cutAt: 'stage1_block1_relu2',
    });
    base.dispose();
    const bn = model.getLayer('stage1_block1_conv2_bn');
    const statistics = () => bn.getWeights().map((w) => w.dataSync().slice());
    const before = statistics();
    const batch = tinyBatch([8, 8, 3], 2, 4, 7);
    trainSteps(model, batch, 2);
    expect(statistics()).toEqual(before);
    // Unfrozen, it trains as usual: batch statistics and moving-average updates.
    expect(unfreezeTop(model, 1)).toEqual(['stage1_block1_conv2_bn']);
    trainSteps(model, batch, 1);
    expect(statistics()).not.toEqual(before);
    tf.dispose([batch.xs, batch.ys]);
    model.dispose();
  });
});
