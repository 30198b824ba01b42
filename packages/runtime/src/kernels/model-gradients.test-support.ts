/**
 * Test support: the whole-model gradients of the three architecture families (a CNN, a ResNet-style net, a tiny ViT)
 * on wasm, every variable compared with the cpu backend as max |wasm − cpu| / max |cpu|. Part of the kernel suite
 * (kernel-suite.test-support.ts), which runs it on each wasm build.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createLoss } from '../loss.ts';
import { maxErrorRelativeToLargest, seededValues, valuesOn } from './gradient-check.ts';
import { kernelPathCounts, resetKernelPathCounts } from './kernel-paths.ts';
import { referenceCnn, type TrainableModel, tinyResNet, tinyVit } from './test-models.ts';

export function describeModelGradients(build: string): void {
  describe(`whole-model gradients on wasm match cpu (${build}): every variable`, () => {
    // Whole networks chain dozens of kernels and batch norm divides by small variances, so float32 differences
    // compound (observed: ≤ 1.5e-6, on the batch-norm parameters of the ResNet).
    const MODEL_TOLERANCE = 1e-5;
    // Small images keep the cpu reference affordable (its filter gradient reads every value through
    // TensorBuffer.get: ~13 s for the CNN at 28x28, batch 4); the layers and kernels are those of the full size.
    it.each([
      { name: 'reference CNN', side: 12, make: () => referenceCnn([12, 12, 1], 4) },
      { name: 'ResNet-style net', side: 12, make: () => tinyResNet([12, 12, 1], 4) },
      { name: 'tiny ViT', side: 14, make: () => tinyVit([14, 14, 1], 4) },
    ])('$name', async ({ side, make }) => {
      await tf.setBackend('wasm');
      const model: TrainableModel = make();
      // Fixed weights instead of tfjs-layers' unseeded initialisers, so every run checks the same numbers: kernels
      // uniform in ±√(3 / fan-in) (unit-variance activations), biases and batch-norm parameters as initialised.
      model.variables.forEach((v, i) => {
        if (!v.name.endsWith('/kernel')) return;
        const fanIn = v.size / v.shape[v.shape.length - 1]!;
        tf.tidy(() =>
          v.assign(tf.mul(tf.tensor(seededValues(v.size, 100 + i), v.shape), Math.sqrt(3 / fanIn))),
        );
      });
      const xs = tf.tensor4d(seededValues(3 * side * side, 23), [3, side, side, 1]);
      const ys = tf.oneHot(tf.tensor1d([0, 3, 1], 'int32'), 4);
      const loss = createLoss({ kind: 'softmax-cross-entropy' });
      const gradients = () => {
        const { value, grads } = tf.variableGrads(() => loss(ys, model.apply(xs, true)), model.variables);
        return [value, ...model.variables.map((v) => grads[v.name]!)];
      };
      resetKernelPathCounts();
      const actual = await valuesOn('wasm', gradients);
      const paths = kernelPathCounts();
      const expected = await valuesOn('cpu', gradients);
      // Our kernels did the backward pass on wasm.
      expect(Object.keys(paths).filter((p) => p.startsWith('Conv2DBackpropFilter:')).length).toBeGreaterThan(
        0,
      );
      expect(actual).toHaveLength(model.variables.length + 1);
      for (const [i, values] of expected.entries()) {
        const what = i === 0 ? 'loss' : `gradient of ${model.variables[i - 1]!.name}`;
        expect(
          values.some((v) => v !== 0),
          `${what} is not all zero`,
        ).toBe(true);
        expect(maxErrorRelativeToLargest(actual[i]!, values), what).toBeLessThan(MODEL_TOLERANCE);
      }
      tf.dispose([xs, ys, ...model.variables]);
    });
  });
}
