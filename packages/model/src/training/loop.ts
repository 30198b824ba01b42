import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Logger } from '@tfmlops/core';
import type { AugmentFn, PreparedDataset } from '@tfmlops/data';
import { createTrainStep, type DataParallelTrainer, type LossFunction } from '@tfmlops/runtime';
import { checkpointName, type LoopState } from '../checkpoints/checkpoint-format.ts';
import type { Checkpoint, CheckpointStore } from '../checkpoints/checkpoint-store.ts';
import type { ExperimentConfig } from '../config.ts';
import { learningRateAt } from '../optim/schedule.ts';
import type { TrainOptimizer } from '../optim/types.ts';
import type { Tracker } from '../tracking/types.ts';
import { type StopSignal, TrainingDivergedError, TrainingInterruptedError } from './errors.ts';
import { evaluateSplit } from './evaluate-split.ts';
import type { EarlyStopping, EpochMetrics, MetricMonitor } from './metric-monitor.ts';
import type { ProgressReporter } from './progress.ts';
import { epochSeed } from './seeds.ts';

/** One optimizer step on a batch; resolves to its mean loss. */
export type StepRunner = (xs: tf.Tensor, ys: tf.Tensor) => Promise<number>;

/** The one-process step: runtime's `createTrainStep` with the configured loss. */
export function oneProcessStep(
  model: tfl.LayersModel,
  optimizer: TrainOptimizer,
  loss: LossFunction,
): StepRunner {
  const step = createTrainStep(model, optimizer, loss);
  return async (xs, ys) => {
    const value = step(xs, ys);
    const lossValue = (await value.data())[0] as number;
    value.dispose();
    return lossValue;
  };
}

/** The data-parallel step: the trainer splits the batch and applies the mean gradient through `optimizer`. */
export function dataParallelStep(trainer: DataParallelTrainer, optimizer: TrainOptimizer): StepRunner {
  return (xs, ys) => trainer.step(xs, ys, optimizer);
}

export interface LoopContext {
  config: ExperimentConfig;
  model: tfl.LayersModel;
  data: PreparedDataset;
  optimizer: TrainOptimizer;
  step: StepRunner;
  loss: LossFunction;
  augment: AugmentFn | undefined;
  store: CheckpointStore;
  /** The run directory (path or URI), named in the hint of an interrupted run. */
  runDir: string;
  tracker: Tracker;
  logger: Logger;
  progress: ProgressReporter;
  stop: AbortSignal | undefined;
  best: MetricMonitor;
  earlyStopping: EarlyStopping | undefined;
  /** Fine-tuning's second phase, if configured: called right before the first step of epoch `afterEpochs + 1`. */
  unfreeze?: { afterEpochs: number; learningRate: number; apply: () => void };
}

/** The state of a run that has not trained yet. */
export function initialLoopState(): LoopState {
  return {
    epoch: 0,
    stepInEpoch: 0,
    globalStep: 0,
    partial: { lossSum: 0, seen: 0, seconds: 0 },
    history: [],
    best: { best: null, bestEpoch: null, epochsWithoutImprovement: 0 },
    earlyStopping: null,
    stoppedEarly: false,
  };
}

/** Weights, optimizer state and loop state, copied out of the live objects for a checkpoint. */
export function snapshot(
  context: Pick<LoopContext, 'model' | 'optimizer' | 'config'>,
  loop: LoopState,
): Checkpoint {
  const { model, optimizer } = context;
  return {
    loop: structuredClone(loop),
    seed: context.config.train.seed,
    weights: model.weights.map((weight) => ({
      name: weight.originalName,
      shape: [...weight.shape] as number[],
      values: (weight.read().dataSync() as Float32Array).slice(),
    })),
    optimizer: optimizer.getState(trainableVariables(model)),
  };
}

/** The variables the optimizer updates, in a stable order (the key of its checkpointed state). */
export function trainableVariables(model: tfl.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((weight) => weight.read() as tf.Variable);
}

/**
 * Runs the remaining epochs from `state`: per step the scheduled learning rate, the step, a NaN/Inf check and
 * progress; per epoch validation, metrics, the best-checkpoint and early-stopping monitors, a checkpoint (pruned to
 * the last k and the best) and a metrics row. A stop request (signal) is honoured between steps and between
 * validation batches: the exact position is checkpointed and TrainingInterruptedError thrown.
 */
export async function runEpochs(context: LoopContext, state: LoopState): Promise<LoopState> {
  const { config, data, optimizer, store, tracker, logger, progress } = context;
  const { epochs, batchSize } = config.train;
  const stepsPerEpoch = Math.ceil(data.count('train') / batchSize);
  const scheduleContext = {
    learningRate: config.train.learningRate,
    stepsPerEpoch,
    totalSteps: stepsPerEpoch * epochs,
  };
  // The schedule's shape over the whole run; after a fine-tuning unfreeze it is scaled to the unfreeze's rate.
  const rateAt = (step: number, epoch: number) => {
    const rate = learningRateAt(step, config.train.schedule, scheduleContext);
    const { unfreeze } = context;
    return unfreeze && epoch > unfreeze.afterEpochs
      ? (rate * unfreeze.learningRate) / config.train.learningRate
      : rate;
  };
  let loop = structuredClone(state);
  const stopped = () => context.stop?.aborted === true;

  /** Stops on a signal: saves where the loop stands (unless the epoch's checkpoint just did) and throws. */
  const interrupt = async (where: string, save = true): Promise<never> => {
    const signal = (context.stop?.reason ?? 'SIGTERM') as StopSignal;
    const name = save ? await store.write(snapshot(context, loop), false) : checkpointName(loop, true);
    logger.warn({ signal, checkpoint: name }, `stopped by ${signal} ${where}; checkpoint saved`);
    throw new TrainingInterruptedError(
      signal,
      `training stopped by ${signal} ${where}; checkpoint ${name} saved`,
      {
        hint: `continue with \`pnpm train --resume ${context.runDir}\``,
      },
    );
  };

  while (loop.epoch < epochs && !loop.stoppedEarly) {
    const epoch = loop.epoch + 1;
    const sessionStart = performance.now();
    const priorSeconds = loop.partial.seconds;
    const elapsed = () => priorSeconds + (performance.now() - sessionStart) / 1000;
    let lr = rateAt(Math.max(0, loop.globalStep - 1), epoch);
    if (loop.stepInEpoch < stepsPerEpoch) {
      progress.startEpoch(epoch, epochs, stepsPerEpoch, loop.stepInEpoch);
      let index = 0;
      try {
        for await (const batch of data.batches('train', {
          batchSize,
          shuffle: true,
          seed: epochSeed(config.train.seed, epoch),
          augment: context.augment,
        })) {
          // After a resume inside an epoch, the batches already trained are drawn again (same seed, same order and
          // augmentation) and skipped.
          if (index < loop.stepInEpoch) {
            index += 1;
            tf.dispose([batch.xs, batch.ys]);
            continue;
          }
          if (stopped()) {
            tf.dispose([batch.xs, batch.ys]);
            loop.partial.seconds = elapsed();
            await interrupt(`in epoch ${epoch} after step ${loop.stepInEpoch}`);
          }
          if (context.unfreeze && epoch === context.unfreeze.afterEpochs + 1 && loop.stepInEpoch === 0) {
            context.unfreeze.apply();
          }
          lr = rateAt(loop.globalStep, epoch);
          optimizer.learningRate = lr;
          const size = batch.xs.shape[0] as number;
          let loss: number;
          try {
            loss = await context.step(batch.xs, batch.ys);
          } finally {
            tf.dispose([batch.xs, batch.ys]);
          }
          if (!Number.isFinite(loss)) {
            throw new TrainingDivergedError(
              `the training loss became ${loss} at epoch ${epoch}, step ${loop.stepInEpoch + 1} (learning rate ${lr})`,
              {
                hint: `${
                  loop.epoch > 0
                    ? `nothing was saved from this epoch; the last good checkpoint (epoch ${loop.epoch}) stays under ${store.uri}`
                    : 'no epoch had finished, so there is no checkpoint'
                }. Lower train.learningRate, add warmup (train.schedule.warmupEpochs) or check the data`,
              },
            );
          }
          index += 1;
          loop.stepInEpoch += 1;
          loop.globalStep += 1;
          loop.partial.lossSum += loss * size;
          loop.partial.seen += size;
          const seconds = elapsed();
          progress.step(loop.stepInEpoch, {
            loss: loop.partial.lossSum / loop.partial.seen,
            imagesPerSecond: loop.partial.seen / Math.max(seconds, 1e-9),
            lr,
          });
        }
      } finally {
        progress.endEpoch();
      }
    }
    loop.partial.seconds = elapsed();
    const trainSeconds = loop.partial.seconds;

    const validation = await evaluateSplit(context.model, data, 'val', {
      batchSize: batchSize * 4,
      loss: context.loss,
      stopped,
    });
    if (!validation) await interrupt(`while validating epoch ${epoch}`);
    // Training accuracy the same way on both training paths (the data-parallel workers report only a loss): as
    // many training images as validation has, unaugmented, in inference mode, so the two accuracies compare.
    const trainSample = await evaluateSplit(context.model, data, 'train', {
      batchSize: batchSize * 4,
      loss: context.loss,
      stopped,
      limit: Math.max(validation?.count ?? 0, Math.min(1000, data.count('train'))),
    });
    if (!trainSample) await interrupt(`while measuring training accuracy in epoch ${epoch}`);
    const { partial } = loop;
    const metrics: EpochMetrics = {
      epoch,
      loss: finite(partial.lossSum / partial.seen),
      accuracy: trainSample?.accuracy ?? null,
      val_loss: validation?.loss ?? null,
      val_accuracy: validation?.accuracy ?? null,
      lr,
      images_per_second: finite(partial.seen / trainSeconds),
      seconds: priorSeconds + (performance.now() - sessionStart) / 1000,
    };
    const improved = context.best.observe(metrics);
    const stopEarly = context.earlyStopping?.update(metrics) ?? false;
    loop = {
      epoch,
      stepInEpoch: 0,
      globalStep: loop.globalStep,
      partial: { lossSum: 0, seen: 0, seconds: 0 },
      history: [...loop.history, metrics],
      best: context.best.save(),
      earlyStopping: context.earlyStopping?.monitor.save() ?? null,
      stoppedEarly: stopEarly,
    };
    const name = await store.write(snapshot(context, loop), true);
    const { checkpoint: checkpointConfig } = config.train;
    if (improved && checkpointConfig.keepBest && metrics[context.best.metric] !== null) {
      await store.writeBest({
        checkpoint: name,
        metric: context.best.metric,
        value: metrics[context.best.metric] as number,
        epoch,
      });
    }
    const bestEpoch = context.best.bestEpoch;
    await store.prune({
      keepLast: checkpointConfig.keepLast,
      keep:
        checkpointConfig.keepBest && bestEpoch !== null
          ? checkpointName({ epoch: bestEpoch, stepInEpoch: 0 }, true)
          : undefined,
    });
    await tracker.logEpoch({ ...metrics });
    logger.info({ ...metrics, epochs, checkpoint: name }, `epoch ${epoch}/${epochs} done`);
    if (stopEarly) {
      logger.info(
        { metric: context.best.metric, patience: config.train.earlyStopping?.patience },
        `early stopping: ${config.train.earlyStopping?.metric} has not improved for ${config.train.earlyStopping?.patience} epochs`,
      );
    }
    if (stopped()) await interrupt(`after epoch ${epoch}`, false);
  }
  return loop;
}

function finite(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}
