/**
 * Worker thread of the data-parallel trainer: holds a replica of the model on its own wasm backend and returns the
 * gradients of the part of a batch it is sent, computed with the weights it is sent.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { registerWasmTrainingKernels } from '../kernels/index.ts';
import { createLoss, type LossFunction } from '../loss.ts';
import { lossAndGradients } from './gradients.ts';
import type { FromWorker, ToWorker } from './protocol.ts';
import { serializedClasses } from './worker-setup.ts';

let model: tfl.LayersModel | undefined;
let lossFn: LossFunction | undefined;
const port = parentPort!;
const reply = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

/** Imports each setup module and runs its `setupWorker`, in order. */
async function runSetup(modules: string[]): Promise<void> {
  for (const href of modules) {
    const setup = (await import(href)) as { setupWorker?: unknown };
    if (typeof setup.setupWorker !== 'function')
      throw new Error(`worker setup module ${href} does not export a setupWorker function`);
    await (setup.setupWorker as () => unknown)();
  }
}

port.on('message', async (message: ToWorker) => {
  try {
    if (message.type === 'init') {
      registerWasmTrainingKernels();
      await tf.setBackend('wasm');
      await tf.ready();
      await runSetup(message.setupModules);
      // Checked before building: tfjs's own "Unknown layer" error comes from deep inside deserialization.
      const known = tf.serialization.SerializationMap.getMap().classNameMap;
      const unknown = serializedClasses(message.topology).filter((c) => !(c.className in known));
      if (unknown.length > 0) {
        reply({ type: 'unknown-classes', classes: unknown });
        return;
      }
      // The same loss as the main thread's part, built from the spec the trainer was created with.
      lossFn = createLoss(message.loss);
      model = await tfl.models.modelFromJSON(
        message.topology as Parameters<typeof tfl.models.modelFromJSON>[0],
      );
      reply({ type: 'ready' });
      return;
    }
    if (!model || !lossFn) throw new Error('step before init');
    const [current, loss] = [model, lossFn];
    const part = tf.tidy(() => {
      current.setWeights(current.weights.map((w, i) => tf.tensor(message.weights[i]!, w.shape as number[])));
      const xs = tf.tensor(message.xs.data, message.xs.shape);
      const ys = tf.tensor(message.ys.data, message.ys.shape);
      return lossAndGradients(current, xs, ys, loss);
    });
    // wasm's dataSync copies off the heap, so each array owns its buffer and can be transferred.
    const arrays = part.grads.map((g) => g.dataSync() as Float32Array);
    const lossValue = part.loss.dataSync()[0]!;
    tf.dispose([part.loss, ...part.grads]);
    reply(
      { type: 'grads', loss: lossValue, grads: arrays },
      arrays.map((a) => a.buffer as ArrayBuffer),
    );
  } catch (error) {
    reply({ type: 'error', message: (error as Error).stack ?? String(error) });
  }
});
