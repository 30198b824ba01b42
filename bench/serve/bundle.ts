import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { createStorage } from '@tfmlops/core';
import {
  computeReferenceStatistics,
  createCnn,
  publishBundle,
  readBundleManifest,
  resolveBundle,
  writeBundle,
} from '@tfmlops/model';
import { realMachineProbes, selectBackend } from '@tfmlops/runtime';
import { BENCH_DIR } from '../lib/report.ts';

export const ROOT = join(BENCH_DIR, '..');
/** Where `pnpm train --config configs/exp1.yaml` publishes exp1's bundle. */
export const EXP1_LATEST = join(ROOT, 'artifacts', 'models', 'exp1', 'latest.json');
const STAND_IN_ROOT = join(ROOT, 'bench', '.cache', 'serve', 'models');

export interface BenchBundle {
  uri: string;
  /** What is served, for the report. */
  description: string;
}

/**
 * The bundle the benchmark serves: `--model`, else exp1's published bundle, else a stand-in with exp1's network
 * (the reference CNN), input and preprocessing but untrained weights (throughput does not depend on the weights),
 * written once under bench/.cache.
 */
export async function benchBundle(model: string | undefined): Promise<BenchBundle> {
  const storage = createStorage();
  const describe = async (uri: string, what: string) => {
    const resolved = await resolveBundle(uri, storage);
    const { manifest } = await readBundleManifest(resolved.dir, storage);
    return {
      uri,
      description: `${what} ${manifest.name}@${manifest.version} (${manifest.model.architecture})`,
    };
  };
  if (model) return describe(model, 'bundle');
  if (existsSync(EXP1_LATEST)) return describe(EXP1_LATEST, 'the trained exp1 bundle');
  const standIn = join(STAND_IN_ROOT, 'exp1', 'latest.json');
  if (!existsSync(standIn)) await writeStandIn(storage);
  return describe(
    standIn,
    `no trained exp1 bundle at artifacts/models/exp1/latest.json, so a stand-in with exp1's network and untrained weights:`,
  );
}

async function writeStandIn(storage: ReturnType<typeof createStorage>): Promise<void> {
  await selectBackend({ backend: 'cpu' }, { probes: realMachineProbes({}) });
  const model = createCnn({ inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const normalization = { mean: [0.1307], std: [0.3081] };
  async function* batches() {
    const labels = tf.tensor1d(
      Array.from({ length: 16 }, (_, i) => i % 10),
      'int32',
    );
    const ys = tf.cast(tf.oneHot(labels, 10), 'float32');
    labels.dispose();
    yield { xs: tf.randomNormal([16, 28, 28, 1], 0, 1, 'float32', 1), ys };
  }
  const reference = await computeReferenceStatistics(model, {
    batches: batches(),
    split: 'val',
    normalization,
    numClasses: 10,
    embeddingLayer: null,
  });
  const staging = join(ROOT, 'bench', '.cache', 'serve', 'staging');
  await writeBundle(
    staging,
    {
      model,
      name: 'exp1',
      labels: Array.from({ length: 10 }, (_, i) => String(i)),
      inputShape: [28, 28, 1],
      preprocess: { width: 28, height: 28, channels: 1, resize: 'fit', background: '#000000' },
      normalization,
      architecture: 'cnn',
      embeddingLayer: null,
      reference,
      metrics: {},
      dataset: { name: 'none', version: 'untrained', uri: 'none' },
      config: { name: 'exp1', note: 'bench stand-in: untrained weights' },
      git: { commit: null, dirty: null },
      run: null,
      quantize: 'none',
    },
    storage,
  );
  await publishBundle(staging, STAND_IN_ROOT, { storage });
  model.dispose();
}
