import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError, joinUri, type Logger, type Storage } from '@tfmlops/core';
import { type LoadSourceFn, openDataset, prepareDataset } from '@tfmlops/data';
import {
  createLoss,
  DataParallelTrainer,
  type LossSpec,
  type MachineProbes,
  selectBackend,
} from '@tfmlops/runtime';
import { buildModel } from './architectures/factories.ts';
import type { PretrainedSource } from './architectures/load-pretrained.ts';
import { validateArchitecture } from './architectures/validate.ts';
import { type GitInfo, readGitInfo } from './bundle/provenance.ts';
import type { LoopState } from './checkpoints/checkpoint-format.ts';
import { CheckpointStore, type LoadedCheckpoint } from './checkpoints/checkpoint-store.ts';
import type { ExperimentConfig } from './config.ts';
import { evaluationSummary } from './evaluate/evaluate-dataset.ts';
import { createOptimizer } from './optim/create-optimizer.ts';
import { OptimizerHolder } from './optim/optimizer-holder.ts';
import type { TrainOptimizer } from './optim/types.ts';
import { LocalTracker } from './tracking/local-tracker.ts';
import type { Tracker } from './tracking/types.ts';
import { buildAugmentation } from './training/augmentation.ts';
import { type StopSignal, TrainingInterruptedError } from './training/errors.ts';
import { applyUnfreeze, isUnfrozen, unfreezeOf } from './training/fine-tune.ts';
import { evaluateTestSplit, exportBundle, writeEvaluation } from './training/finish-run.ts';
import {
  dataParallelStep,
  initialLoopState,
  oneProcessStep,
  runEpochs,
  trainableVariables,
} from './training/loop.ts';
import { EarlyStopping, type EpochMetrics, MetricMonitor, modeFor } from './training/metric-monitor.ts';
import { planWorkers } from './training/parallel-plan.ts';
import { resolvePretrainedUri } from './training/pretrained-source.ts';
import { type ProgressReporter, SILENT_PROGRESS } from './training/progress.ts';
import { newRunLocation, runIdOf } from './training/run-dir.ts';

export type { ExperimentConfig } from './config.ts';

export interface TrainDependencies {
  storage: Storage;
  logger: Logger;
  probes: MachineProbes;
  loadSource: LoadSourceFn;
  /** Aborted (with the signal name as its reason) to stop training at the next step with a checkpoint. */
  stop?: AbortSignal;
  /** Per-step progress; the CLI passes a progress bar on a terminal. */
  progress?: ProgressReporter;
  /** Where runs are tracked; default the local files of the run directory. */
  tracker?: Tracker;
  /** Commit of the code; default read from git in the current directory (the CLI adds GIT_COMMIT as fallback). */
  git?: GitInfo;
}

export interface TrainOptions {
  /** Continue this run directory from its newest checkpoint (`pnpm train --resume <run-dir>`). */
  resume?: string;
}

export interface TrainResult {
  runId: string;
  runUri: string;
  /** The published bundle: `<export.uri>/<name>/<version>`. */
  modelUri: string;
  /** `<export.uri>/<name>/latest.json`, now pointing at this bundle. */
  latestUri: string;
  bundleVersion: string;
  backend: string;
  datasetVersion: string;
  /** Every epoch of the run, earlier sessions' included when resumed. */
  epochs: EpochMetrics[];
  testAccuracy: number;
  testLoss: number;
  /** Training images per second over this run's epochs (data loading included). */
  imagesPerSecond: number | null;
  stoppedEarly: boolean;
  /** The checkpoint this session started from, when resumed. */
  resumedFrom: string | undefined;
}

/**
 * Trains one experiment end to end: pick the backend, prepare (or reuse) the versioned dataset, build the network,
 * create (or reopen, with `resume`) the run directory `<train.outputDir>/<name>/<timestamp>-<id>/`, run the epochs
 * with a checkpoint after each, evaluate on the test split, export the model, and record config.yaml,
 * metrics.jsonl and summary.json. The CLI and the tests call this same function.
 *
 * Every thread and native resource it starts is released on every exit path: success, error, or a stop request.
 */
export async function train(
  config: ExperimentConfig,
  deps: TrainDependencies,
  options: TrainOptions = {},
): Promise<TrainResult> {
  const started = performance.now();
  const { storage, logger } = deps;
  const throwIfStopped = (where: string) => {
    if (deps.stop?.aborted) {
      const signal = deps.stop.reason as StopSignal;
      throw new TrainingInterruptedError(signal, `stopped by ${signal} ${where}, before training started`);
    }
  };
  const backend = await selectBackend(config.runtime, { probes: deps.probes, logger });
  throwIfStopped('while selecting the backend');
  const prepared = await prepareDataset(config.data, { storage, logger, loadSource: deps.loadSource });
  const data = await openDataset(prepared.uri, { storage });
  logger.info({ dataset: prepared.uri, version: data.version, train: data.count('train') }, 'dataset ready');
  throwIfStopped('while preparing the data');
  if (data.count('train') === 0) {
    throw new ConfigError(`the dataset ${prepared.uri} has no training images`, {
      hint: 'check data.source and data.classes, and that data.split leaves images to train on',
    });
  }

  // Every way the model section can mismatch the data is a config error, found before a run directory exists.
  const source: PretrainedSource = { storage, resolveUri: (uri) => resolvePretrainedUri(uri, storage) };
  const shape = { inputShape: data.imageShape, numClasses: data.classNames.length, seed: config.train.seed };
  await validateArchitecture(config.model, shape.inputShape, shape.numClasses, source);

  const disposers: Array<() => unknown> = [];
  let tracker: Tracker | undefined;
  try {
    const model = await buildModel(config.model, shape, source);
    disposers.push(() => model.dispose());
    const lossSpec: LossSpec = { kind: 'softmax-cross-entropy', labelSmoothing: config.train.labelSmoothing };
    const loss = createLoss(lossSpec);
    const newOptimizer = (learningRate: number) =>
      createOptimizer(config.train.optimizer, learningRate, backend.backend);
    const optimizer = new OptimizerHolder(newOptimizer(config.train.learningRate));
    disposers.push(() => optimizer.dispose());
    const unfreeze = unfreezeOf(config.model);
    // An explicit worker count for a batch-norm net is a config error: raised here, before the run directory.
    const plan = planWorkers(config.runtime, backend.backend, model, unfreeze !== undefined);

    const resumeDir = options.resume?.replace(/[\\/]+$/, '');
    const location = resumeDir
      ? { runId: runIdOf(resumeDir), runDir: resumeDir }
      : newRunLocation(config.train.outputDir, config.name);
    const store = new CheckpointStore(storage, joinUri(location.runDir, 'checkpoints'), logger);
    const checkpoint = options.resume ? await store.latest() : undefined;
    if (options.resume && !checkpoint) {
      logger.warn(
        { run: location.runDir },
        'no usable checkpoint in the run directory: training it from the start',
      );
    }
    if (checkpoint && isUnfrozen(checkpoint.loop, unfreeze) && unfreeze) {
      // The checkpoint was taken after fine-tuning's unfreeze: the same layers train, with a fresh optimizer.
      applyUnfreeze(model, unfreeze, logger);
      optimizer.replace(newOptimizer(unfreeze.learningRate));
    }
    const loop = checkpoint ? restore(checkpoint, model, optimizer) : initialLoopState();
    if (checkpoint) {
      logger.info(
        { checkpoint: checkpoint.name, epoch: loop.epoch, stepInEpoch: loop.stepInEpoch },
        'resuming from checkpoint',
      );
    }
    const best = new MetricMonitor(config.train.checkpoint.metric, modeFor(config.train.checkpoint.metric));
    best.restore(loop.best);
    const earlyStopping = config.train.earlyStopping
      ? new EarlyStopping(config.train.earlyStopping)
      : undefined;
    if (earlyStopping && loop.earlyStopping) earlyStopping.monitor.restore(loop.earlyStopping);

    tracker = deps.tracker ?? new LocalTracker({ storage, logger });
    await tracker.start({
      experiment: config.name,
      runId: location.runId,
      runDir: location.runDir,
      config: toPlainConfig(config),
      history: loop.history,
      resumedFromEpoch: checkpoint ? loop.epoch : undefined,
    });
    logger.info({ run: location.runDir }, checkpoint ? 'run directory reopened' : 'run directory created');

    let parallel: DataParallelTrainer | undefined;
    if (plan.workers > 0) {
      parallel = await DataParallelTrainer.create(model, { workers: plan.workers, loss: lossSpec });
      disposers.push(async () => {
        await parallel?.dispose();
        logger.debug({ workers: plan.workers, loss: lossSpec }, 'data-parallel worker threads terminated');
      });
      logger.info({ workers: plan.workers, reason: plan.reason }, 'data-parallel training on worker threads');
    }
    const sessionEpochStart = loop.history.length;
    const final = await runEpochs(
      {
        config,
        model,
        data,
        optimizer,
        step: parallel ? dataParallelStep(parallel, optimizer) : oneProcessStep(model, optimizer, loss),
        loss,
        augment: buildAugmentation(config.train.augmentation, data.manifest.normalization),
        store,
        runDir: location.runDir,
        tracker,
        logger,
        progress: deps.progress ?? SILENT_PROGRESS,
        stop: deps.stop,
        best,
        earlyStopping,
        unfreeze: unfreeze && {
          ...unfreeze,
          apply: () => {
            applyUnfreeze(model, unfreeze, logger);
            optimizer.replace(newOptimizer(unfreeze.learningRate));
          },
        },
      },
      loop,
    );

    const evaluation = await evaluateTestSplit(model, data, {
      batchSize: config.train.batchSize * 4,
      stopped: () => deps.stop?.aborted === true,
    });
    if (evaluation === undefined) {
      // The newest checkpoint already holds the finished training: a resume goes straight to evaluation.
      const signal = deps.stop?.reason as StopSignal;
      throw new TrainingInterruptedError(signal, `stopped by ${signal} while evaluating the trained model`, {
        hint: `training is complete and checkpointed: \`pnpm train --resume ${location.runDir}\` evaluates and exports it`,
      });
    }
    logger.info(
      { testAccuracy: evaluation.accuracy, testLoss: evaluation.loss, ece: evaluation.calibration.ece },
      'test split evaluated',
    );
    const last = final.history.at(-1);
    const metrics = {
      ...evaluationSummary(evaluation, 'test'),
      val_accuracy: last?.val_accuracy ?? null,
      val_loss: last?.val_loss ?? null,
    };
    const git = deps.git ?? (await readGitInfo(process.cwd()));
    const resolvedConfig = toPlainConfig(config);
    const published = await exportBundle(model, {
      config,
      resolvedConfig,
      data,
      storage,
      logger,
      runDir: location.runDir,
      git,
      metrics,
      testAccuracy: evaluation.accuracy,
    });
    await tracker.logArtifact({ name: 'model', uri: published.uri, type: 'model' });
    if (deps.stop?.aborted) {
      // Drawing the pictures takes seconds; a stop request should not wait for them.
      const signal = deps.stop.reason as StopSignal;
      throw new TrainingInterruptedError(signal, `stopped by ${signal} after publishing ${published.uri}`, {
        hint: `the model is trained and published; \`pnpm train --resume ${location.runDir}\` would evaluate and publish again`,
      });
    }
    await writeEvaluation(evaluation, {
      storage,
      runDir: location.runDir,
      pictures: config.train.evaluation.pictures,
      data,
      history: final.history,
      metadata: { model_uri: published.uri, dataset_version: data.version },
      logger,
    });
    const sessionEpochs = final.history.slice(sessionEpochStart);
    const imagesPerSecond = meanThroughput(sessionEpochs);
    const result: TrainResult = {
      runId: location.runId,
      runUri: location.runDir,
      modelUri: published.uri,
      latestUri: published.latestUri,
      bundleVersion: published.manifest.version,
      backend: backend.backend,
      datasetVersion: data.version,
      epochs: final.history,
      testAccuracy: evaluation.accuracy,
      testLoss: evaluation.loss,
      imagesPerSecond,
      stoppedEarly: final.stoppedEarly,
      resumedFrom: checkpoint?.name,
    };
    await tracker.logSummary({
      ...metrics,
      train_images_per_second: imagesPerSecond ?? undefined,
      backend: backend.backend,
      data_parallel_workers: plan.workers,
      epochs: final.history.length,
      stopped_early: final.stoppedEarly,
      best_checkpoint: best.bestEpoch === null ? null : { epoch: best.bestEpoch, [best.metric]: best.best },
      wall_seconds: (performance.now() - started) / 1000,
      model_uri: published.uri,
      model_latest_uri: published.latestUri,
      model_version: published.manifest.version,
      quantize: config.export.quantize,
      dataset_uri: prepared.uri,
      dataset_version: data.version,
      git_commit: git.commit ?? undefined,
      git_dirty: git.dirty,
    });
    await tracker.finish('finished');
    // A fixed path naming the newest finished run of the experiment, for DVC's metrics and for tools.
    await storage.write(
      joinUri(joinUri(config.train.outputDir, config.name), 'latest.json'),
      `${JSON.stringify({ run_id: location.runId, run_dir: location.runDir, ...metrics, model_uri: published.uri }, null, 2)}\n`,
    );
    logger.info(
      { run: location.runDir, model: published.uri, testAccuracy: result.testAccuracy },
      'training finished',
    );
    return result;
  } catch (error) {
    const status = error instanceof TrainingInterruptedError ? 'interrupted' : 'failed';
    // Recording the outcome must not hide the error that ended the run (e.g. the storage that failed).
    await tracker?.finish(status, { error: (error as Error).message }).catch(() => undefined);
    throw error;
  } finally {
    for (const dispose of disposers.reverse()) {
      try {
        await dispose();
      } catch (error) {
        logger.warn({ error: (error as Error).message }, 'releasing a training resource failed');
      }
    }
  }
}

/** Puts a checkpoint's weights and optimizer state into freshly built objects; returns its loop state. */
function restore(checkpoint: LoadedCheckpoint, model: tfl.LayersModel, optimizer: TrainOptimizer): LoopState {
  const weights = model.weights;
  const mismatch =
    weights.length !== checkpoint.weights.length
      ? `${checkpoint.weights.length} weights for a model of ${weights.length}`
      : weights
          .map((weight, i) => {
            const saved = checkpoint.weights[i]!;
            return saved.shape.join('x') === weight.shape.join('x')
              ? undefined
              : `weight ${i} (${weight.originalName}) is ${weight.shape.join('x')} here, ${saved.shape.join('x')} in the checkpoint`;
          })
          .find((problem) => problem !== undefined);
  if (mismatch) {
    throw new ConfigError(`checkpoint ${checkpoint.uri} does not fit the model: ${mismatch}`, {
      hint: 'resume with the config the run was started with (its config.yaml); model and data changes need a new run',
    });
  }
  const values = checkpoint.weights.map((weight) => tf.tensor(weight.values, weight.shape, 'float32'));
  model.setWeights(values);
  tf.dispose(values);
  optimizer.setState(trainableVariables(model), checkpoint.optimizer);
  return checkpoint.loop;
}

/**
 * Training images per second over whole epochs: every epoch trains the same number of images, so the aggregate rate
 * (images / training seconds) is the harmonic mean of the epochs' rates.
 */
function meanThroughput(epochs: EpochMetrics[]): number | null {
  const rates = epochs
    .map((epoch) => epoch.images_per_second)
    .filter((rate): rate is number => rate !== null && rate > 0);
  if (rates.length === 0) return null;
  return rates.length / rates.reduce((sum, rate) => sum + 1 / rate, 0);
}

/** The resolved config as plain data (what config.yaml holds and `--resume` reads back). */
function toPlainConfig(config: ExperimentConfig): Record<string, unknown> {
  return JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
}
