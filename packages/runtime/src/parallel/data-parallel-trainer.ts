import type { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { BackendError, DataError, startModuleWorker } from '@tfmlops/core';
import { createLoss, type LossFunction, type LossSpec } from '../loss.ts';
import type { GradientApplier } from '../train-step.ts';
import { lossAndGradients, trainableVariables } from './gradients.ts';
import { batchNormalizationLayers, batchNormError } from './plan.ts';
import type { FromWorker, ToWorker } from './protocol.ts';
import { describeClass, type WorkerSetup } from './worker-setup.ts';

export interface DataParallelOptions {
  /** Worker threads besides the main thread (default 1); `planDataParallel` decides it from the config. */
  workers?: number;
  /** The loss every part computes: the main thread and each worker build it from this one spec. */
  loss: LossSpec;
  /**
   * Setup each worker runs before it rebuilds the model from its JSON: how custom layer classes (a ViT's) get
   * registered there. Pass the same list to planDataParallel.
   */
  setup?: readonly WorkerSetup[];
}

type Part = { loss: tf.Scalar; grads: tf.Tensor[]; size: number };

/**
 * Synchronous data-parallel training on one machine. The wasm backend runs on one core (tfjs leaves wasm threads
 * off in Node), so a step splits its batch: the main thread computes the gradients of one part while worker threads,
 * each holding a replica of the model on its own wasm backend, compute the others with the same weights and the
 * same loss. The size-weighted mean of the parts' gradients is the gradient of the whole batch's mean loss, and the
 * caller's optimizer applies it once: the single-device step. Networks with batch norm are refused (see
 * `planDataParallel` for why they are never split).
 *
 * The replicas are built once, from the model as it is at `create`: which layers train (frozen layers), custom
 * layer classes (registered in each worker by `options.setup`) and the topology. What changes later is not seen by
 * them, so a trainer must be recreated (dispose, create) whenever the trainable variables change, e.g. after
 * `unfreezeTop` in fine-tuning; `step` compares the trainable variables with those at `create` and throws rather
 * than combine gradients of two different sets. (A patched `call`, such as frozen batch norm kept in inference mode,
 * is not in the JSON either; batch-norm nets are refused anyway.)
 *
 * Worker threads never keep the process alive on their own: they are unreferenced whenever no step is waiting on
 * them, so a program that fails after `create` still exits. `dispose` (or `await using`) terminates them.
 */
export class DataParallelTrainer {
  private readonly loss: LossFunction;
  /** The trainable variables (name and shape) the replicas were built with. */
  private readonly trainable: string[];
  private disposed = false;
  private stepping = false;
  /** Set when a worker died; every later step fails with it. */
  private failure: BackendError | undefined;
  /** The request each worker is answering, if any. */
  private readonly pending = new Map<
    number,
    { resolve(reply: FromWorker): void; reject(error: unknown): void }
  >();

  private constructor(
    private readonly model: tfl.LayersModel,
    private readonly workers: Worker[],
    loss: LossSpec,
  ) {
    this.loss = createLoss(loss);
    this.trainable = trainableSignature(model);
    workers.forEach((worker, index) => {
      worker.on('message', (reply: FromWorker) => this.settle(index, reply));
      worker.on('error', (error: Error) => this.die(index, `crashed: ${error.message}`, error));
      worker.on('exit', (code: number) => this.die(index, `exited unexpectedly (exit code ${code})`));
    });
  }

  /**
   * Starts the worker threads, runs `options.setup` in each and builds their replicas from the model's topology.
   * A worker that cannot rebuild the model (a layer class it does not know) fails this with a BackendError naming
   * the layer and its class, and every thread is terminated.
   */
  static async create(model: tfl.LayersModel, options: DataParallelOptions): Promise<DataParallelTrainer> {
    const { workers = 1, loss, setup = [] } = options;
    if (!Number.isInteger(workers) || workers < 1) {
      throw new BackendError(
        'BACKEND_WORKER',
        `data-parallel training needs at least 1 worker, got ${workers}`,
        {
          hint: 'train in one process (runtime.dataParallelWorkers=0) instead of creating a trainer',
        },
      );
    }
    const batchNorm = batchNormalizationLayers(model);
    if (batchNorm.length > 0) throw batchNormError(batchNorm, workers);
    createLoss(loss); // an invalid spec fails here, before any thread starts
    // The worker is TypeScript, loaded through tsx, so it runs the same under `pnpm train`, vitest and the images.
    const threads = Array.from({ length: workers }, () => {
      const thread = startModuleWorker(new URL('./gradient-worker.ts', import.meta.url));
      thread.unref();
      return thread;
    });
    const trainer = new DataParallelTrainer(model, threads, loss);
    const topology = model.toJSON(null, false) as object;
    const setupModules = setup.map((s) => s.module.href);
    try {
      const replies = await Promise.all(
        threads.map((_, i) => trainer.request(i, { type: 'init', topology, loss, setupModules })),
      );
      const unknown = replies.find((reply) => reply.type === 'unknown-classes');
      if (unknown) throw cannotRebuild(unknown.classes, setup);
    } catch (error) {
      await trainer.dispose();
      throw error;
    }
    return trainer;
  }

  /**
   * One optimizer step on a batch: the gradients of the whole batch's mean loss go to `applier` (FusedAdam, or a
   * tf optimizer through `optimizerApplier`) once. Returns the batch's mean loss. `xs`/`ys` stay owned by the caller.
   * A worker that crashes rejects the step with a BackendError, and the trainer cannot step again.
   */
  async step(xs: tf.Tensor, ys: tf.Tensor, applier: GradientApplier): Promise<number> {
    if (this.disposed)
      throw new BackendError('BACKEND_WORKER', 'the data-parallel trainer has been disposed');
    if (this.failure) throw this.failure;
    this.checkTrainable();
    if (this.stepping) {
      throw new BackendError('BACKEND_WORKER', 'a data-parallel step is already running', {
        hint: 'await each step before starting the next',
      });
    }
    this.stepping = true;
    try {
      return await this.stepOnce(xs, ys, applier);
    } finally {
      this.stepping = false;
    }
  }

  private async stepOnce(xs: tf.Tensor, ys: tf.Tensor, applier: GradientApplier): Promise<number> {
    checkBatch(this.model, xs, ys);
    const total = xs.shape[0]!;
    // Equal parts; the main thread takes part 0 (and any remainder), each worker one of the others.
    const partSize = Math.floor(total / (this.workers.length + 1));
    const local = total - partSize * this.workers.length;
    const weights = partSize > 0 ? this.model.weights.map((w) => w.read().dataSync() as Float32Array) : [];
    const pending =
      partSize === 0
        ? []
        : this.workers.map((_, index) => {
            const start = local + index * partSize;
            const [partXs, partYs] = [tf.slice(xs, start, partSize), tf.slice(ys, start, partSize)];
            const message: ToWorker = {
              type: 'step',
              weights: weights.map((w) => w.slice()),
              xs: { data: partXs.dataSync() as Float32Array, shape: partXs.shape },
              ys: { data: partYs.dataSync() as Float32Array, shape: partYs.shape },
            };
            tf.dispose([partXs, partYs]);
            return this.request(index, message, [
              ...message.weights.map((w) => w.buffer as ArrayBuffer),
              message.xs.data.buffer as ArrayBuffer,
              message.ys.data.buffer as ArrayBuffer,
            ]);
          });
    let localPart: Part | undefined;
    let localFailure: { error: unknown } | undefined;
    try {
      localPart = {
        ...tf.tidy(() =>
          partSize === 0
            ? lossAndGradients(this.model, xs, ys, this.loss)
            : lossAndGradients(this.model, tf.slice(xs, 0, local), tf.slice(ys, 0, local), this.loss),
        ),
        size: local,
      };
    } catch (error) {
      localFailure = { error };
    }
    // Every request settles before the step does, also when the main thread's part threw: no reply is left to
    // reject unobserved, and no worker stays referenced.
    const replies = await Promise.allSettled(pending);
    if (localFailure || !localPart) throw localFailure?.error;
    const failed = replies.find((reply) => reply.status === 'rejected');
    if (failed) {
      tf.dispose([localPart.loss, ...localPart.grads]);
      throw failed.reason;
    }
    const answers = replies.map((reply) => (reply as PromiseFulfilledResult<FromWorker>).value);
    if (answers.some((answer) => answer.type !== 'grads')) {
      tf.dispose([localPart.loss, ...localPart.grads]);
      throw new BackendError('BACKEND_WORKER', 'gradient worker answered out of turn');
    }
    const variables = trainableVariables(this.model);
    const parts: Part[] = [localPart];
    for (const answer of answers as Array<Extract<FromWorker, { type: 'grads' }>>) {
      parts.push({
        loss: tf.scalar(answer.loss),
        grads: answer.grads.map((data, i) => tf.tensor(data, variables[i]!.shape)),
        size: partSize,
      });
    }
    return this.apply(applier, variables, parts);
  }

  /** Terminates the worker threads. Safe to call more than once and after a failure. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  /** `await using trainer = await DataParallelTrainer.create(...)` disposes it on every exit path. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  private apply(applier: GradientApplier, variables: tf.Variable[], parts: Part[]): number {
    const total = parts.reduce((sum, part) => sum + part.size, 0);
    const named: tf.NamedTensorMap = {};
    let loss = 0;
    try {
      tf.tidy(() => {
        variables.forEach((variable, i) => {
          named[variable.name] = tf.keep(
            tf.addN(parts.map((part) => tf.mul(part.grads[i]!, part.size / total))),
          );
        });
      });
      for (const part of parts) loss += (part.loss.dataSync()[0]! * part.size) / total;
      applier.applyGradients(named);
    } finally {
      tf.dispose([...Object.values(named), ...parts.flatMap((part) => [part.loss, ...part.grads])]);
    }
    return loss;
  }

  /** Replicas compute gradients for the trainable variables they were built with; a changed set is refused. */
  private checkTrainable(): void {
    const now = trainableSignature(this.model);
    if (now.length === this.trainable.length && now.every((v, i) => v === this.trainable[i])) return;
    const changed =
      now.find((v) => !this.trainable.includes(v)) ?? this.trainable.find((v) => !now.includes(v));
    throw new BackendError(
      'BACKEND_WORKER_STALE',
      `the model's trainable variables changed since this data-parallel trainer was created (${this.trainable.length} then, ${now.length} now${changed ? `; ${changed.split(' ')[0]} among those changed` : ''}): its worker replicas still train the old set`,
      {
        hint: 'dispose the trainer and create a new one after changing what trains (unfreezeTop, layer.trainable)',
      },
    );
  }

  /**
   * Sends one message to worker `index` and resolves with its answer. The worker is referenced only while the
   * answer is awaited. Its death (an uncaught error or an exit), during the request or before it, rejects it.
   */
  private request(index: number, message: ToWorker, transfer: ArrayBuffer[] = []): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      if (this.disposed)
        return reject(new BackendError('BACKEND_WORKER', 'the data-parallel trainer has been disposed'));
      const worker = this.workers[index]!;
      this.pending.set(index, { resolve, reject });
      worker.ref();
      worker.postMessage(message, transfer);
    });
  }

  private settle(index: number, reply: FromWorker): void {
    const request = this.pending.get(index);
    if (!request) return;
    this.pending.delete(index);
    this.workers[index]!.unref();
    if (reply.type === 'error')
      request.reject(
        new BackendError('BACKEND_WORKER', `gradient worker ${index + 1} failed: ${reply.message}`),
      );
    else request.resolve(reply);
  }

  /** A worker died: the trainer fails, the other workers stop (they would wait for weights that never come). */
  private die(index: number, what: string, cause?: unknown): void {
    if (!this.disposed) {
      this.failure ??= new BackendError(
        'BACKEND_WORKER',
        `gradient worker ${index + 1} of ${this.workers.length} ${what}; data-parallel training cannot continue`,
        {
          hint: 'dispose the trainer; runtime.dataParallelWorkers=0 trains in one thread if this repeats',
          cause,
        },
      );
      for (const other of this.workers) void other.terminate();
    }
    const reason =
      this.failure ?? new BackendError('BACKEND_WORKER', 'the data-parallel trainer has been disposed');
    for (const [i, request] of this.pending) {
      this.workers[i]!.unref();
      request.reject(reason);
    }
    this.pending.clear();
  }
}

/** Each trainable variable as "name [shape]", in the order gradients travel. */
function trainableSignature(model: tfl.LayersModel): string[] {
  return trainableVariables(model).map((v) => `${v.name} [${v.shape.join(',')}]`);
}

/** The error for a model the workers cannot rebuild, naming the layers and what would fix it. */
function cannotRebuild(
  classes: Array<{ className: string; layer?: string }>,
  setup: readonly WorkerSetup[],
): BackendError {
  const names = classes.map(describeClass).join('; ');
  return new BackendError(
    'BACKEND_WORKER_SETUP',
    `the gradient workers cannot rebuild this model: ${names}, a class not registered in a worker${setup.length > 0 ? ` (after its ${setup.length} setup module(s) ran)` : ''}`,
    {
      hint: 'give DataParallelTrainer.create (and planDataParallel) a WorkerSetup whose module registers the class in its setupWorker(), or train in one thread (runtime.dataParallelWorkers=0)',
    },
  );
}

/**
 * A batch that does not fit the model fails here, with both shapes, rather than inside the forward pass: tfjs leaks
 * the gradient tape's saved tensors when the function under `variableGrads` throws.
 */
function checkBatch(model: tfl.LayersModel, xs: tf.Tensor, ys: tf.Tensor): void {
  const expected = model.inputs[0]?.shape ?? [];
  const fits =
    model.inputs.length === 1 &&
    expected.length === xs.rank &&
    expected.every((size, axis) => size === null || size === xs.shape[axis]);
  if (!fits || ys.shape[0] !== xs.shape[0]) {
    throw new DataError(
      'DATA_BATCH_SHAPE',
      `batch of inputs [${xs.shape}] and labels [${ys.shape}] does not fit the model's input [${expected.map((d) => d ?? 'batch')}]`,
      { hint: "check that the dataset's image shape matches the one the model was built for" },
    );
  }
}
