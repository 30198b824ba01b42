/** Training-step throughput of the reference CNN on wasm (lean step + FusedAdam), for A/B between worktrees. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { configureWasmBackend, createTrainStep, FusedAdam, registerWasmTrainingKernels } from './index.ts';
const threads = Number(process.argv[2] ?? 1);
const steps = Number(process.argv[3] ?? 30);
await configureWasmBackend({ threads });
registerWasmTrainingKernels();
await tf.setBackend('wasm');
const model = tfl.sequential({ layers: [
  tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu' }),
  tfl.layers.maxPooling2d({ poolSize: 2 }),
  tfl.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
  tfl.layers.maxPooling2d({ poolSize: 2 }),
  tfl.layers.flatten(),
  tfl.layers.dense({ units: 128, activation: 'relu' }),
  tfl.layers.dense({ units: 10 }),
]});
const step = createTrainStep(model, new FusedAdam({ learningRate: 0.001 }), (l, p) => tf.losses.softmaxCrossEntropy(l, p) as tf.Scalar);
const xs = tf.randomUniform([64, 28, 28, 1]);
const ys = tf.oneHot(tf.randomUniform([64], 0, 10, 'int32') as tf.Tensor1D, 10);
const one = () => { const l = step(xs, ys); l.dataSync(); l.dispose(); };
for (let i = 0; i < 5; i++) one();
const c0 = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < steps; i++) one();
console.log(JSON.stringify({ imgPerSec: (64 * steps) / ((performance.now() - t0) / 1000), cpuMsPerStep: (() => { const u = process.cpuUsage(c0); return (u.user + u.system) / 1000 / steps; })() }));
process.exit(0);
