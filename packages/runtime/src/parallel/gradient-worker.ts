/**
 * Worker thread of the data-parallel trainer: holds a replica of the model on its own wasm backend and returns the
 * gradients of the half batch it is sent, computed with the weights it is sent.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { registerWasmTrainingKernels } from '../kernels/index.ts';
import { lossAndGradients } from './gradients.ts';
import type { FromWorker, ToWorker } from './protocol.ts';

let model: tfl.LayersModel | undefined;
const port = parentPort!;
const reply = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

port.on('message', async (message: ToWorker) => {
  try {
    if (message.type === 'init') {
      registerWasmTrainingKernels();
      await tf.setBackend('wasm');
      await tf.ready();
      model = await tfl.models.modelFromJSON(
        message.topology as Parameters<typeof tfl.models.modelFromJSON>[0],
      );
      reply({ type: 'ready' });
      return;
    }
    if (!model) throw new Error('step before init');
    const current = model;
    const { loss, grads } = tf.tidy(() => {
      current.setWeights(current.weights.map((w, i) => tf.tensor(message.weights[i]!, w.shape as number[])));
      const xs = tf.tensor(message.xs.data, message.xs.shape);
      const ys = tf.tensor(message.ys.data, message.ys.shape);
      return lossAndGradients(current, xs, ys);
    });
    // wasm's dataSync copies off the heap, so each array owns its buffer and can be transferred.
    const arrays = grads.map((g) => g.dataSync() as Float32Array);
    const lossValue = loss.dataSync()[0]!;
    tf.dispose([loss, ...grads]);
    reply(
      { type: 'grads', loss: lossValue, grads: arrays },
      arrays.map((a) => a.buffer as ArrayBuffer),
    );
  } catch (error) {
    reply({ type: 'error', message: (error as Error).stack ?? String(error) });
  }
});
