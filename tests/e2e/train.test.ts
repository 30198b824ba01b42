import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ConfigError, createLogger, createStorage } from '@tfmlops/core';
import { loadSource } from '@tfmlops/data';
import {
  type ExperimentConfig,
  loadBundle,
  loadExperimentConfig,
  type ProgressReporter,
  runEvaluateCommand,
  runTrainCommand,
  type TrainDependencies,
  TrainingDivergedError,
  TrainingInterruptedError,
  train,
} from '@tfmlops/model';
import { realMachineProbes } from '@tfmlops/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeImageFolder, writeTinyConfig } from './train-support.ts';

let dir: string;
let configFile: string;
const storage = createStorage();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'e2e-train-'));
  await writeImageFolder(join(dir, 'images'), 40);
  configFile = writeTinyConfig(dir, 'tiny');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(overrides: string[] = []): ExperimentConfig {
  return loadExperimentConfig({ file: configFile, overrides, env: {} }).config;
}

function deps(extra: Partial<TrainDependencies> = {}): TrainDependencies {
  return {
    storage,
    logger: createLogger({ level: 'silent' }),
    probes: realMachineProbes({}),
    loadSource,
    git: { commit: 'test', dirty: false },
    ...extra,
  };
}

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const readRows = (runDir: string) =>
  readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));

/** A progress reporter that stops the run (as a SIGTERM would) when `epoch` reaches `afterSteps` steps. */
function stopAt(
  epoch: number,
  afterSteps: number | 'validation',
): { progress: ProgressReporter; stop: AbortSignal } {
  const controller = new AbortController();
  let current = 0;
  return {
    stop: controller.signal,
    progress: {
      startEpoch: (e) => {
        current = e;
      },
      step: (done) => {
        if (current === epoch && done === afterSteps) controller.abort('SIGTERM');
      },
      endEpoch: () => {
        if (current === epoch && afterSteps === 'validation') controller.abort('SIGTERM');
      },
    },
  };
}

describe('train() end to end on tiny data', () => {
  it.each([
    ['one process', 0],
    ['one data-parallel worker', 1],
  ])(
    'trains on wasm (%s) and writes the run directory, checkpoints and the exported model',
    async (_, workers) => {
      // Pictures are drawn once (they take a few seconds); evaluation.json is always written.
      const pictures = workers === 0;
      const config = load([
        `runtime.dataParallelWorkers=${workers}`,
        'train.epochs=3',
        'train.augmentation.shift=1',
        `train.evaluation.pictures=${pictures}`,
      ]);
      const result = await train(config, deps());
      expect(result.backend).toBe('wasm');
      expect(result.runUri.startsWith(join(dir, 'runs', 'tiny', ''))).toBe(true);
      expect(result.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
      expect(result.testAccuracy).toBeGreaterThanOrEqual(0.9);

      const files = readdirSync(result.runUri, { recursive: true }).map(String).sort();
      expect(files).toEqual(
        expect.arrayContaining([
          'config.yaml',
          'metrics.jsonl',
          'summary.json',
          'evaluation.json',
          'bundle/bundle.json',
        ]),
      );
      for (const png of ['confusion-matrix.png', 'reliability.png', 'misclassified.png', 'curves.png']) {
        expect(files.includes(png)).toBe(pictures);
        if (pictures) expect(readFileSync(join(result.runUri, png)).subarray(1, 4).toString()).toBe('PNG');
      }
      const evaluation = readJson(join(result.runUri, 'evaluation.json'));
      expect(evaluation).toMatchObject({
        split: 'test',
        accuracy: result.testAccuracy,
        model_uri: result.modelUri,
      });
      expect(evaluation.confusionMatrix).toHaveLength(2);
      const checkpoints = readdirSync(join(result.runUri, 'checkpoints')).sort();
      // keepLast 2 plus the best (epoch 1 if validation was perfect from the start).
      expect(checkpoints).toEqual(expect.arrayContaining(['best.json', 'epoch-0002', 'epoch-0003']));
      expect(checkpoints.filter((name) => name.startsWith('epoch-')).length).toBeLessThanOrEqual(3);

      const rows = readRows(result.runUri);
      expect(rows.map((r) => r.epoch)).toEqual([1, 2, 3]);
      for (const row of rows) {
        expect(Object.keys(row).sort()).toEqual(
          [
            'accuracy',
            'epoch',
            'images_per_second',
            'loss',
            'lr',
            'seconds',
            'val_accuracy',
            'val_loss',
          ].sort(),
        );
        expect(row.val_accuracy).toBeGreaterThanOrEqual(0);
        expect(row.val_accuracy).toBeLessThanOrEqual(1);
        expect(row.images_per_second).toBeGreaterThan(0);
        // Measured after the epoch on training images, whichever path trained it.
        expect(row.accuracy).toBeGreaterThanOrEqual(0);
        expect(row.accuracy).toBeLessThanOrEqual(1);
      }
      expect(rows[2].loss).toBeLessThan(rows[0].loss);
      expect(rows[2].lr).toBeLessThan(rows[0].lr); // cosine

      const summary = readJson(join(result.runUri, 'summary.json'));
      expect(summary).toMatchObject({
        status: 'finished',
        experiment: 'tiny',
        run_id: result.runId,
        test_accuracy: result.testAccuracy,
        backend: 'wasm',
        data_parallel_workers: workers,
        epochs: 3,
        model_uri: result.modelUri,
        model_version: result.bundleVersion,
        dataset_version: result.datasetVersion,
        git_commit: 'test',
      });
      expect(summary.train_images_per_second).toBeGreaterThan(0);
      expect(summary.wall_seconds).toBeGreaterThan(0);

      expect(readJson(join(dir, 'runs', 'tiny', 'latest.json'))).toMatchObject({
        run_id: result.runId,
        test_accuracy: result.testAccuracy,
      });

      // The resolved config reads back as the same experiment (what --resume does).
      const reread = loadExperimentConfig({ file: join(result.runUri, 'config.yaml'), env: {} }).config;
      expect(reread).toEqual(config);

      // The published bundle loads back, checksums verified, with the run's labels and metrics.
      expect(readJson(join(dir, 'models', 'tiny', 'latest.json'))).toMatchObject({
        version: result.bundleVersion,
      });
      const bundle = await loadBundle(join(dir, 'models', 'tiny'), { storage });
      try {
        expect(bundle.uri).toBe(result.modelUri);
        expect(bundle.manifest).toMatchObject({
          name: 'tiny',
          labels: ['bottom', 'top'],
          inputShape: [16, 16, 1],
        });
        expect(bundle.manifest.metrics.test_accuracy).toBe(result.testAccuracy);
      } finally {
        bundle.dispose();
      }
    },
  );

  it('a run stopped while validating and again inside an epoch, then resumed, ends with the same weights and metrics as one that ran straight through', async () => {
    const straight = await train(load(['train.epochs=3', 'train.augmentation.shift=1']), deps());
    // Its own export root: the resumed run ends with the very weights of the straight one, and two bundles of the
    // same weights published within one second would get the same (immutable) version.
    const config = load([
      'train.epochs=3',
      'train.augmentation.shift=1',
      `export.uri=${join(dir, 'models-resumed-straight')}`,
    ]);

    const before = new Set(readdirSync(join(dir, 'runs', 'tiny')));
    const first = stopAt(1, 'validation');
    const stopped = await train(config, deps(first)).catch((error: unknown) => error);
    expect(stopped).toBeInstanceOf(TrainingInterruptedError);
    expect((stopped as TrainingInterruptedError).exitCode).toBe(143);
    const runDir = join(
      dir,
      'runs',
      'tiny',
      readdirSync(join(dir, 'runs', 'tiny')).find((r) => !before.has(r))!,
    );
    // Stopped after the whole of epoch 1 was trained, before its validation finished.
    const [inside] = readdirSync(join(runDir, 'checkpoints'));
    expect(inside).toMatch(/^epoch-0001-step-\d{6}$/);
    const { loop } = readJson(join(runDir, 'checkpoints', inside!, 'state.json'));
    expect(loop).toMatchObject({ epoch: 0, stepInEpoch: loop.globalStep });
    expect(loop.stepInEpoch).toBeGreaterThan(3);
    expect(readJson(join(runDir, 'summary.json')).status).toBe('interrupted');

    const second = stopAt(2, 3);
    const again = await train(config, deps(second), { resume: runDir }).catch((error: unknown) => error);
    expect(again).toBeInstanceOf(TrainingInterruptedError);
    expect(readdirSync(join(runDir, 'checkpoints')).sort()).toEqual([
      'best.json',
      'epoch-0001',
      'epoch-0002-step-000003',
    ]);

    const resumed = await train(config, deps(), { resume: runDir });
    expect(resumed.resumedFrom).toBe('epoch-0002-step-000003');
    expect(resumed.runUri).toBe(runDir);
    const bytes = (run: string) => readFileSync(join(run, 'checkpoints', 'epoch-0003', 'tensors.bin'));
    expect(bytes(runDir).equals(bytes(straight.runUri))).toBe(true);
    const comparable = (run: string) =>
      readRows(run).map(({ epoch, loss, accuracy, val_loss, val_accuracy, lr }) => ({
        epoch,
        loss,
        accuracy,
        val_loss,
        val_accuracy,
        lr,
      }));
    expect(comparable(runDir)).toEqual(comparable(straight.runUri));
    expect(resumed.testAccuracy).toBe(straight.testAccuracy);
    expect(readJson(join(runDir, 'summary.json'))).toMatchObject({
      status: 'finished',
      resumed_from_epoch: 1,
    });
  });

  it('stops with a clear error when the loss becomes NaN and keeps the last good checkpoint', async () => {
    const config = load(['train.epochs=1']);
    const first = await train(config, deps());
    // Resumed for a second epoch at a learning rate far too high for plain SGD: the weights blow up.
    const unstable = load([
      'train.epochs=2',
      'train.learningRate=10',
      'train.optimizer.name=sgd',
      'train.schedule.name=constant',
    ]);
    const error = await train(unstable, deps(), { resume: first.runUri }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TrainingDivergedError);
    expect((error as Error).message).toMatch(
      /the training loss became (NaN|Infinity|-Infinity) at epoch 2, step \d+/,
    );
    expect((error as TrainingDivergedError).hint).toMatch(/last good checkpoint \(epoch 1\)/);
    expect(readdirSync(join(first.runUri, 'checkpoints')).filter((n) => n.startsWith('epoch-'))).toEqual([
      'epoch-0001',
    ]);
    const summary = readJson(join(first.runUri, 'summary.json'));
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/loss became/);
  });

  it('fine-tunes a pretrained base (trained first because its bundle is missing), unfreezing after an epoch, and resumes exactly across the unfreeze', async () => {
    writeTinyConfig(dir, 'tiny-base');
    const fineTune = writeTinyConfig(
      dir,
      'tiny-ft',
      `requires: [tiny-base.yaml]
model:
  architecture: pretrained
  uri: ${join(dir, 'models', 'tiny-base')}
  head: { units: [16] }
  unfreeze: { topLayers: 1, afterEpochs: 1, learningRate: 0.0002 }
`,
    );
    let out = '';
    const stream = new Writable({
      write(chunk, _encoding, done) {
        out += chunk.toString();
        done();
      },
    });
    const code = await runTrainCommand(['--config', fineTune], {
      env: {},
      stdout: stream,
      stderr: stream,
      signals: new EventEmitter(),
    });
    expect(code).toBe(0);
    expect(out).toMatch(/training tiny-base first: tiny-ft requires its model bundle/);
    expect(out).toMatch(/fine-tuning: unfroze 1 layer\(s\) of the body/);
    expect(readJson(join(dir, 'models', 'tiny-base', 'latest.json')).name).toBe('tiny-base');
    const straightRun = join(dir, 'runs', 'tiny-ft', readdirSync(join(dir, 'runs', 'tiny-ft'))[0]!);
    expect(readJson(join(straightRun, 'summary.json'))).toMatchObject({ status: 'finished', epochs: 2 });

    // Stopped two steps after the unfreeze, then resumed: the same layers train with the same optimizer state.
    // Its own export root: exact resumption gives the very weights of the straight run, and two bundles of the same
    // weights published within one second would get the same version (bundle versions are immutable).
    const config = loadExperimentConfig({
      file: fineTune,
      env: {},
      overrides: [`export.uri=${join(dir, 'models-resumed')}`],
    }).config;
    const before = new Set(readdirSync(join(dir, 'runs', 'tiny-ft')));
    const stop = stopAt(2, 2);
    await expect(train(config, deps(stop))).rejects.toBeInstanceOf(TrainingInterruptedError);
    const runDir = join(
      dir,
      'runs',
      'tiny-ft',
      readdirSync(join(dir, 'runs', 'tiny-ft')).find((r) => !before.has(r))!,
    );
    const resumed = await train(config, deps(), { resume: runDir });
    expect(resumed.resumedFrom).toBe('epoch-0002-step-000002');
    const bytes = (run: string) => readFileSync(join(run, 'checkpoints', 'epoch-0002', 'tensors.bin'));
    expect(bytes(runDir).equals(bytes(straightRun))).toBe(true);
  });

  it('pnpm evaluate re-evaluates a published bundle with its own config, and refuses data whose labels differ', async () => {
    writeTinyConfig(dir, 'tiny-eval');
    const { config } = loadExperimentConfig({
      file: join(dir, 'tiny-eval.yaml'),
      env: {},
      overrides: ['train.epochs=1'],
    });
    const trained = await train(config, deps());
    const out = join(dir, 'evaluation');
    let text = '';
    const stream = new Writable({
      write(chunk, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
    const context = { env: {}, stdout: stream, stderr: stream };
    const code = await runEvaluateCommand(
      ['--model', join(dir, 'models', 'tiny-eval'), '--out', out],
      context,
    );
    expect(code).toBe(0);
    expect(text).toMatch(
      /tiny-eval@\S+ on test \(\d+ images of imagefolder@[0-9a-f]{16}\): accuracy \d+\.\d\d%/,
    );
    const evaluation = readJson(join(out, 'evaluation.json'));
    expect(evaluation).toMatchObject({
      split: 'test',
      accuracy: trained.testAccuracy,
      model_uri: trained.modelUri,
    });
    expect(readdirSync(out).sort()).toEqual([
      'confusion-matrix.png',
      'evaluation.json',
      'misclassified.png',
      'reliability.png',
    ]);
    await expect(
      runEvaluateCommand(['--model', trained.modelUri, '--out', out, 'data.classes=[top, bottom]'], context),
    ).rejects.toThrow(/the bundle predicts \[bottom, top\] but the dataset's classes are \[top, bottom\]/);
  });

  it('a model that does not fit the data is a ConfigError before any run directory exists', async () => {
    const { config } = loadExperimentConfig({
      file: writeTinyConfig(dir, 'tiny-misfit'),
      env: {},
      overrides: ['model={architecture: vit, patchSize: 5}'],
    });
    const error = await train(config, deps()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/patch/i);
    expect(existsSync(join(dir, 'runs', 'tiny-misfit'))).toBe(false);
  });
});
