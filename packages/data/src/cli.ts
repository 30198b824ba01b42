/**
 * `pnpm data <command>`:
 *   prepare --config FILE [key=value ...] [--force]   build (or reuse) the versioned dataset the config describes
 *   report  --config FILE | --dataset DIR [--out DIR] write report.json, report.md and PNGs for a prepared dataset
 *   info    --config FILE | --dataset DIR             print a prepared dataset's manifest summary
 *   verify  --config FILE | --dataset DIR             re-hash every shard against manifest.json
 */
import {
  ConfigError,
  createLogger,
  createStorage,
  type Logger,
  loadConfig,
  loggingConfigSchema,
  parseExperimentArgs,
  resolveConfigPath,
  runCli,
  type Storage,
} from '@tfmlops/core';
import { z } from 'zod';
import { type DataConfig, dataConfigSchema } from './config.ts';
import { openDataset } from './format/open-dataset.ts';
import { datasetUriFor, prepareDataset } from './prepare/prepare-dataset.ts';
import { writeReport } from './report/report.ts';

const USAGE = `usage: pnpm data <prepare|report|info|verify> --config configs/exp1.yaml [key.path=value ...]
       pnpm data <report|info|verify> --dataset data/processed/mnist [--out DIR]`;

// Only the `data:` section matters here; the other sections of an experiment file are checked by the commands
// that use them (`pnpm train` composes all of them strictly).
const dataOnlySchema = z.object({ data: dataConfigSchema, logging: loggingConfigSchema });

await runCli(async () => {
  const [command, ...rest] = process.argv.slice(2);
  if (!command || !['prepare', 'report', 'info', 'verify'].includes(command)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const args = parseExperimentArgs(rest, {
    dataset: { type: 'string', short: 'd' },
    out: { type: 'string', short: 'o' },
    force: { type: 'boolean' },
  });
  const experiment =
    args.configFile || args.overrides.length > 0 ? readConfig(args.configFile, args.overrides) : undefined;
  const config = experiment?.data;
  const logger = createLogger({ level: experiment?.logging.level ?? 'info', name: 'data' });
  const storage = createStorage({ gcs: { apiEndpoint: process.env.STORAGE_EMULATOR_HOST } });

  if (command === 'prepare') {
    if (!config) throw new ConfigError('prepare needs --config', { hint: USAGE });
    const result = await prepareDataset(config, { storage, logger, force: args.flags.force === true });
    const { counts, skipped } = result.manifest;
    process.stdout.write(
      `${result.upToDate ? 'up to date' : 'prepared'}: ${result.manifest.name}@${result.version} -> ${result.uri}\n` +
        `  train ${counts.train.total}, val ${counts.val.total}, test ${counts.test.total}, skipped ${skipped.length}\n`,
    );
    return 0;
  }

  const datasetUri = resolveDatasetUri(args.flags.dataset, config);
  if (command === 'report') {
    const out = typeof args.flags.out === 'string' ? args.flags.out : undefined;
    return runReport(datasetUri, out, storage, logger);
  }
  const dataset = await openDataset(datasetUri, { storage, verify: command === 'verify' ? 'eager' : 'lazy' });
  const m = dataset.manifest;
  if (command === 'verify') {
    process.stdout.write(
      `ok: ${m.name}@${m.version}: ${m.shards.length} shards match manifest.json (${dataset.uri})\n`,
    );
    return 0;
  }
  process.stdout.write(
    [
      `${m.name}@${m.version}  ${dataset.uri}`,
      `  source      ${m.source.kind} (${m.source.origin})`,
      `  images      ${m.imageShape.join('x')} (HxWxC), ${m.preprocess.resize}, ${m.classNames.length} classes`,
      `  splits      train ${m.counts.train.total}, val ${m.counts.val.total}, test ${m.counts.test.total} (test ${m.split.testSource}, seed ${m.split.seed})`,
      `  normalise   mean ${m.normalization.mean.map((v) => v.toFixed(4)).join(', ')}; std ${m.normalization.std.map((v) => v.toFixed(4)).join(', ')}`,
      `  shards      ${m.shards.length}, ${(m.shards.reduce((s, e) => s + e.bytes, 0) / 1e6).toFixed(1)} MB`,
      `  skipped     ${m.skipped.length}`,
      '',
    ].join('\n'),
  );
  return 0;
});

function readConfig(file: string | undefined, overrides: string[]) {
  // Bare names as `pnpm train` takes them: `--config exp1.yaml` is configs/exp1.yaml.
  const path = file === undefined ? undefined : resolveConfigPath(file);
  return loadConfig({ schema: dataOnlySchema, file: path, overrides, env: process.env }).config;
}

function resolveDatasetUri(flag: string | boolean | undefined, config: DataConfig | undefined): string {
  if (typeof flag === 'string') return flag;
  if (config) return datasetUriFor(config);
  throw new ConfigError('give --dataset <dir> or --config <experiment file>', { hint: USAGE });
}

async function runReport(
  datasetUri: string,
  out: string | undefined,
  storage: Storage,
  logger: Logger,
): Promise<number> {
  const dataset = await openDataset(datasetUri, { storage, verify: 'lazy' });
  const outDir = out ?? `reports/data/${dataset.manifest.name}`;
  const report = await writeReport(dataset, { outDir, storage, logger });
  const leaks = report.duplicates.exact.crossSplitPairs + report.duplicates.near.crossSplitPairs;
  process.stdout.write(
    `report for ${dataset.manifest.name}@${dataset.version} -> ${outDir}/report.md\n` +
      `  cross-split duplicates: ${report.duplicates.exact.crossSplitPairs} exact, ${report.duplicates.near.crossSplitPairs} near` +
      `${leaks > 0 ? ` (${report.duplicates.evalImagesSeenInTrain} val/test images also in train)` : ''}\n`,
  );
  return 0;
}
