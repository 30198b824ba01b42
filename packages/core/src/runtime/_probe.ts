import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { registerWasmTrainingKernels } from './kernels/index.ts';

await tf.setBackend('wasm');
await tf.ready();
console.log(registerWasmTrainingKernels());
const model = tfl.sequential();
model.add(tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu' }));
model.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
model.add(tfl.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }));
model.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
model.add(tfl.layers.flatten());
model.add(tfl.layers.dense({ units: 128, activation: 'relu' }));
model.add(tfl.layers.dense({ units: 10, activation: 'softmax' }));
const opt = tf.train.adam(0.001);
const xs = tf.randomNormal([64, 28, 28, 1]);
const ys = tf.cast(tf.oneHot(tf.randomUniform([64], 0, 10, 'int32') as tf.Tensor1D, 10), 'float32');
const step = () => {
  const cost = opt.minimize(
    () => tf.losses.softmaxCrossEntropy(ys, model.predict(xs) as tf.Tensor) as tf.Scalar,
    true,
  )!;
  const v = cost.dataSync()[0];
  cost.dispose();
  return v;
};
for (let i = 0; i < 3; i++) step();
const n = 20;
const t0 = performance.now();
for (let i = 0; i < n; i++) step();
const ms = (performance.now() - t0) / n;
console.log('step ms', ms.toFixed(1), 'img/s', (64000 / ms).toFixed(0), 'tensors', tf.memory().numTensors);
const prof = await tf.profile(() => {
  step();
});
const byKernel = new Map<string, number>();
for (const k of prof.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number));
console.log(
  [...byKernel.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 14)
    .map(([k, v]) => `${k}:${v.toFixed(1)}`)
    .join(' '),
);
// inference
const t1 = performance.now();
for (let i = 0; i < 20; i++) {
  const p = model.predict(xs) as tf.Tensor;
  p.dataSync();
  p.dispose();
}
console.log('infer img/s', ((64 * 20 * 1000) / (performance.now() - t1)).toFixed(0));
