import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from './index.ts';
import { referenceCnn, type TrainableModel, tinyResNet, tinyVit } from './test-models.ts';

beforeAll(async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  await tf.ready();
});

/** A learnable toy task: the class is which quadrant of the image is bright. */
function quadrantBatch(size: number, seed: number): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  return tf.tidy(() => {
    const labels = tf.randomUniform([size], 0, 4, 'int32', seed) as tf.Tensor1D;
    const values = new Float32Array(size * 28 * 28);
    const noise = tf.randomUniform([size * 28 * 28], 0, 0.3, 'float32', seed + 1).dataSync();
    const labelValues = labels.dataSync();
    for (let n = 0; n < size; n += 1) {
      const [top, left] = [Math.floor(labelValues[n]! / 2) * 14, (labelValues[n]! % 2) * 14];
      for (let h = 0; h < 28; h += 1)
        for (let w = 0; w < 28; w += 1) {
          const inside = h >= top && h < top + 14 && w >= left && w < left + 14;
          values[(n * 28 + h) * 28 + w] = (inside ? 0.7 : 0) + noise[(n * 28 + h) * 28 + w]!;
        }
    }
    return {
      xs: tf.tensor4d(values, [size, 28, 28, 1]),
      ys: tf.cast(tf.oneHot(labels, 4), 'float32') as tf.Tensor2D,
    };
  });
}

function trainSteps(model: TrainableModel, steps: number): { losses: number[]; tensorsPerStep: number[] } {
  const optimizer = tf.train.adam(0.01);
  const { xs, ys } = quadrantBatch(32, 3);
  const losses: number[] = [];
  const tensorsPerStep: number[] = [];
  for (let step = 0; step < steps; step += 1) {
    const loss = optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, true)) as tf.Scalar,
      true,
      model.variables,
    )!;
    losses.push(loss.dataSync()[0]!);
    loss.dispose();
    tensorsPerStep.push(tf.memory().numTensors);
  }
  tf.dispose([xs, ys]);
  optimizer.dispose();
  return { losses, tensorsPerStep };
}

describe.each([
  { name: 'reference CNN', make: () => referenceCnn([28, 28, 1], 4) },
  {
    name: 'ResNet-style (strided convs, batch norm, residual adds, GAP)',
    make: () => tinyResNet([28, 28, 1], 4),
  },
  {
    name: 'tiny ViT (patch conv, class token, layer norm, attention, GELU)',
    make: () => tinyVit([28, 28, 1], 4),
  },
])('training on wasm: $name', ({ make }) => {
  it('loss falls and tensor count stays flat across steps', () => {
    expect(tf.getBackend()).toBe('wasm');
    const { losses, tensorsPerStep } = trainSteps(make(), 12);
    expect(losses.every(Number.isFinite)).toBe(true);
    const early = (losses[0]! + losses[1]!) / 2;
    const late = (losses[10]! + losses[11]!) / 2;
    expect(late).toBeLessThan(early * 0.8);
    // Adam creates its moment variables on the first step; from then on nothing may accumulate.
    expect(new Set(tensorsPerStep.slice(2)).size).toBe(1);
  });
});
