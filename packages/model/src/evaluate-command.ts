import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, createLogger, createStorage, parseExperimentArgs } from '@tfmlops/core';
import {
  type Batch,
  loadSource,
  openDataset,
  type PreparedDataset,
  prepareDataset,
  SPLITS,
} from '@tfmlops/data';
import { realMachineProbes, selectBackend } from '@tfmlops/runtime';
import { stringify } from 'yaml';
import { loadBundle } from './bundle/load-bundle.ts';
import { readBundleManifest, resolveBundle } from './bundle/read-bundle.ts';
import type { CommandContext } from './commands.ts';
import { type EvaluationDataset, evaluateDataset } from './evaluate/evaluate-dataset.ts';
import { loadExperimentConfig } from './load-experiment.ts';

const USAGE =
  'usage: pnpm evaluate --model artifacts/models/exp1 [--config configs/exp1.yaml] [--split test] [--out dir] [key.path=value ...]';

/**
 * `pnpm evaluate --model <bundle-uri>`: loads a model bundle (checksums verified), prepares the dataset of `--config`
 * (default: the config the bundle was trained with, plus any overrides), checks that its labels and image shape are
 * the bundle's, evaluates one split with the bundle's own normalisation, and writes evaluation.json and the PNGs to
 * `--out` (default `reports/evaluate/<name>/<version>/`).
 */
export async function runEvaluateCommand(argv: readonly string[], context: CommandContext): Promise<number> {
  const args = parseExperimentArgs(argv, {
    model: { type: 'string' },
    split: { type: 'string' },
    out: { type: 'string' },
  });
  const modelUri = typeof args.flags.model === 'string' ? args.flags.model : undefined;
  if (!modelUri) throw new ConfigError('--model is required', { hint: USAGE });
  const split = (args.flags.split ?? 'test') as string;
  if (!(SPLITS as readonly string[]).includes(split)) {
    throw new ConfigError(`--split ${split}: expected one of ${SPLITS.join(', ')}`, { hint: USAGE });
  }
  const storage =
    context.storage ?? createStorage({ gcs: { apiEndpoint: context.env.STORAGE_EMULATOR_HOST } });
  const resolved = await resolveBundle(modelUri, storage);
  const { manifest } = await readBundleManifest(resolved.dir, storage, resolved.pointer?.bundleSha256);
  const { config } = args.configFile
    ? loadExperimentConfig({ file: args.configFile, overrides: args.overrides, env: context.env })
    : loadBundleConfig(manifest.config, args.overrides, context.env);
  const logger = createLogger({ level: config.logging.level, destination: context.stdout });

  await selectBackend(config.runtime, { probes: context.probes ?? realMachineProbes(context.env), logger });
  const prepared = await prepareDataset(config.data, {
    storage,
    logger,
    loadSource: context.loadSource ?? loadSource,
  });
  const data = await openDataset(prepared.uri, { storage });
  if (data.classNames.join('\n') !== manifest.labels.join('\n')) {
    throw new ConfigError(
      `the bundle predicts [${manifest.labels.join(', ')}] but the dataset's classes are [${data.classNames.join(', ')}]`,
      { hint: 'evaluate on data with the classes the model was trained on (data.source, data.classes)' },
    );
  }
  if (data.imageShape.join('x') !== manifest.inputShape.join('x')) {
    throw new ConfigError(
      `the bundle takes ${manifest.inputShape.join('x')} images, the dataset has ${data.imageShape.join('x')}`,
      { hint: 'set data.preprocess to the bundle’s input size and channels' },
    );
  }
  const out =
    (args.flags.out as string | undefined) ?? join('reports', 'evaluate', manifest.name, manifest.version);
  // The directory resolved above, not `modelUri` again: a training run may move latest.json in the meantime, and the
  // labels and shape were checked against this version.
  const bundle = await loadBundle(resolved.dir, { storage, logger });
  try {
    const evaluation = await evaluateDataset(bundle.model, withNormalization(data, manifest.normalization), {
      split: split as (typeof SPLITS)[number],
      report: {
        storage,
        dir: out,
        metadata: {
          model_uri: bundle.uri,
          bundle_version: manifest.version,
          dataset_uri: data.uri,
          dataset_version: data.version,
        },
        logger,
      },
    });
    context.stdout.write(
      `\n${manifest.name}@${manifest.version} on ${split} (${evaluation.examples} images of ${data.manifest.name}@${data.version}): ` +
        `accuracy ${(evaluation.accuracy * 100).toFixed(2)}%, macro F1 ${evaluation.macro.f1.toFixed(4)}, ` +
        `ECE ${evaluation.calibration.ece.toFixed(4)}\nreport: ${out}\n`,
    );
    return 0;
  } finally {
    bundle.dispose();
  }
}

/**
 * The bundle's recorded config, validated and overridden as a config file would be: `loadExperimentConfig` reads files,
 * so it goes through a temporary one, removed again.
 */
function loadBundleConfig(
  config: Record<string, unknown>,
  overrides: readonly string[],
  env: NodeJS.ProcessEnv,
): ReturnType<typeof loadExperimentConfig> {
  const dir = mkdtempSync(join(tmpdir(), 'tfmlops-evaluate-'));
  try {
    const file = join(dir, 'config.yaml');
    writeFileSync(file, stringify(config));
    return loadExperimentConfig({ file, overrides, env });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The dataset with its batches normalised as the bundle says (the model's contract), not with the dataset's own
 * statistics: they differ when the data is not the version the model was trained on.
 */
function withNormalization(
  data: PreparedDataset,
  normalization: { mean: number[]; std: number[] },
): EvaluationDataset {
  const own = data.manifest.normalization;
  const same = own.mean.every(
    (m, c) =>
      Math.abs(m - (normalization.mean[c] ?? 0)) < 1e-9 &&
      Math.abs((own.std[c] ?? 1) - (normalization.std[c] ?? 1)) < 1e-9,
  );
  if (same) return data;
  const safe = (s: number) => (s > 1e-8 ? s : 1);
  async function* renormalized(batches: AsyncIterable<Batch>): AsyncGenerator<Batch> {
    for await (const batch of batches) {
      const xs = tf.tidy(() => {
        // Back to [0, 1] pixels with the dataset's statistics, then forward with the bundle's.
        const pixels = tf.add(tf.mul(batch.xs, own.std.map(safe)), own.mean);
        return tf.div(tf.sub(pixels, normalization.mean), normalization.std.map(safe));
      });
      batch.xs.dispose();
      yield { xs, ys: batch.ys };
    }
  }
  return {
    classNames: data.classNames,
    imageShape: data.imageShape,
    shards: (s) => data.shards(s),
    readShard: (entry) => data.readShard(entry),
    batches: (s, options) => renormalized(data.batches(s, options)),
  };
}
