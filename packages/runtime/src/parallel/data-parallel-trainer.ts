import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { BackendError } from '@tfmlops/core';
import { lossAndGradients, trainableVariables } from './gradients.ts';
import type { FromWorker, ToWorker } from './protocol.ts';

/**
 * Synchronous data-parallel training on one machine. The wasm backend runs on one core (tfjs leaves wasm threads
 * off in Node), so a step splits its batch: the main thread computes the gradients of one part while a worker
 * thread, holding a replica of the model on its own wasm backend, computes the other with the same weights. The
 * size-weighted mean of the parts' gradients is the gradient of the whole batch's mean loss, so the optimizer step
 * is the single-device step (batch norm statistics come from the main thread's part only).
 */
export class DataParallelTrainer {
  private constructor(
    private readonly model: tfl.LayersModel,
    private readonly workers: Worker[],
  ) {}

  /** Starts `workers` worker threads (default 1) and builds their replicas from the model's topology. */
  static async create(
    model: tfl.LayersModel,
    { workers = 1 }: { workers?: number } = {},
  ): Promise<DataParallelTrainer> {
    // Workers run TypeScript through tsx's loader, resolved from this package so tests and CLIs behave alike.
    // The worker is TypeScript: a two-line bootstrap loads it through tsx's API, resolved from this package, so it
    // runs the same under `pnpm train`, vitest and anything else.
    const tsxApi = pathToFileURL(
      createRequire(import.meta.url)
        .resolve('tsx/esm/api')
        .replace(/\.cjs$/, '.mjs'),
    ).href;
    const entry = new URL('./gradient-worker.ts', import.meta.url).href;
    const bootstrap = `import(${JSON.stringify(tsxApi)}).then((api) => api.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(import.meta.url)}));`;
    const threads = Array.from({ length: workers }, () => new Worker(bootstrap, { eval: true }));
    const trainer = new DataParallelTrainer(model, threads);
    const topology = model.toJSON(null, false) as object;
    await Promise.all(threads.map((thread) => trainer.request(thread, { type: 'init', topology })));
    return trainer;
  }

  /**
   * One optimizer step on a batch: returns the batch's mean loss. `xs`/`ys` stay owned by the caller.
   */
  async step(xs: tf.Tensor, ys: tf.Tensor, optimizer: tf.Optimizer): Promise<number> {
    const total = xs.shape[0]!;
    // Equal parts; the main thread takes part 0 (and any remainder), each worker one of the others.
    const partSize = Math.floor(total / (this.workers.length + 1));
    const remoteSizes = this.workers.map(() => partSize);
    const local = total - partSize * this.workers.length;
    const variables = trainableVariables(this.model);
    const weights = partSize > 0 ? this.model.weights.map((w) => w.read().dataSync() as Float32Array) : [];
    const pending =
      partSize === 0
        ? []
        : this.workers.map((worker, index) => {
            const start = local + index * partSize;
            const [partXs, partYs] = [tf.slice(xs, start, partSize), tf.slice(ys, start, partSize)];
            const message: ToWorker = {
              type: 'step',
              weights: weights.map((w) => w.slice()),
              xs: { data: partXs.dataSync() as Float32Array, shape: partXs.shape },
              ys: { data: partYs.dataSync() as Float32Array, shape: partYs.shape },
            };
            tf.dispose([partXs, partYs]);
            return this.request(worker, message, [
              ...message.weights.map((w) => w.buffer as ArrayBuffer),
              message.xs.data.buffer as ArrayBuffer,
              message.ys.data.buffer as ArrayBuffer,
            ]);
          });
    const localPart = tf.tidy(() =>
      partSize === 0
        ? lossAndGradients(this.model, xs, ys)
        : lossAndGradients(this.model, tf.slice(xs, 0, local), tf.slice(ys, 0, local)),
    );
    const replies = await Promise.all(pending);
    const parts = [{ ...localPart, size: partSize === 0 ? total : local }];
    replies.forEach((reply, index) => {
      if (reply.type !== 'grads')
        throw new BackendError('BACKEND_WORKER', 'gradient worker answered out of turn');
      parts.push({
        loss: tf.scalar(reply.loss),
        grads: reply.grads.map((data, i) => tf.tensor(data, variables[i]!.shape)),
        size: remoteSizes[index]!,
      });
    });
    return this.apply(optimizer, parts);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  private apply(
    optimizer: tf.Optimizer,
    parts: Array<{ loss: tf.Scalar; grads: tf.Tensor[]; size: number }>,
  ): number {
    const total = parts.reduce((sum, part) => sum + part.size, 0);
    const variables = trainableVariables(this.model);
    const named: tf.NamedTensorMap = {};
    let loss = 0;
    tf.tidy(() => {
      variables.forEach((variable, i) => {
        named[variable.name] = tf.keep(
          tf.addN(parts.map((part) => tf.mul(part.grads[i]!, part.size / total))),
        );
      });
    });
    for (const part of parts) loss += (part.loss.dataSync()[0]! * part.size) / total;
    optimizer.applyGradients(named);
    tf.dispose([...Object.values(named), ...parts.flatMap((part) => [part.loss, ...part.grads])]);
    return loss;
  }

  private request(worker: Worker, message: ToWorker, transfer: ArrayBuffer[] = []): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      const onMessage = (reply: FromWorker) => {
        cleanup();
        if (reply.type === 'error')
          reject(new BackendError('BACKEND_WORKER', `gradient worker failed: ${reply.message}`));
        else resolve(reply);
      };
      const onError = (error: Error) => {
        cleanup();
        reject(
          new BackendError('BACKEND_WORKER', `gradient worker crashed: ${error.message}`, { cause: error }),
        );
      };
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.postMessage(message, transfer);
    });
  }
}
