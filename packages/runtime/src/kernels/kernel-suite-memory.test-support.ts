/**
 * Test support: the kernel suite's (kernel-suite.test-support.ts) checks of what works on the wasm heap itself:
 * FusedAdam's in-place update, Identity and Cast aliasing a tensor's memory, and kernel registration that leaves no
 * tensors behind.
 */
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { type GradientApplier, optimizerApplier } from '../train-step.ts';
import { FusedAdam } from './fused-adam.ts';
import { maxErrorRelativeToLargest, seededValues, valuesOn } from './gradient-check.ts';
import { registerWasmTrainingKernels } from './index.ts';
import { kernelPathCounts, resetKernelPathCounts } from './kernel-paths.ts';
import { heapOffset, type WasmBackend } from './wasm-access.ts';

/** Adds the FusedAdam, aliasing and registration tests to the current describe. */
export function addMemoryTests(): void {
  it('FusedAdam (SIMD update on the wasm heap) matches tf.train.adam on cpu over three steps', async () => {
    // 1027 values: the 4-wide loop and its scalar tail.
    const initial = seededValues(1027, 17);
    const gradients = [18, 19, 20].map((seed) => seededValues(1027, seed));
    const train = (optimizer: () => GradientApplier & { dispose(): void }) => () => {
      const variable = tf.variable(tf.tensor1d(initial));
      const adam = optimizer();
      for (const g of gradients) adam.applyGradients({ [variable.name]: tf.tensor1d(g) });
      adam.dispose();
      const out = variable.clone();
      variable.dispose();
      return [out];
    };
    const [expected] = await valuesOn(
      'cpu',
      train(() => {
        const adam = tf.train.adam(0.01);
        return { ...optimizerApplier(adam), dispose: () => adam.dispose() };
      }),
    );
    const [actual] = await valuesOn(
      'wasm',
      train(() => new FusedAdam({ learningRate: 0.01 })),
    );
    expect(maxErrorRelativeToLargest(actual!, expected!)).toBeLessThan(1e-6);
    // The updates are real: three Adam steps of 0.01 moved the weights.
    expect(maxErrorRelativeToLargest(initial, expected!)).toBeGreaterThan(1e-3);
  });

  it.each([
    ['float32', [1.5, -2, 3.25, 4]],
    ['int32', [1, -2, 3, 4]],
    ['bool', [1, 0, 0, 1]],
  ] as const)(
    'Identity and same-dtype Cast alias a %s tensor: same heap memory, own lifetime',
    (dtype, values) => {
      const backend = tf.backend() as WasmBackend;
      const x = tf.tensor(values as unknown as number[], [2, 2], dtype);
      const buffers = backend.numDataIds();
      resetKernelPathCounts();
      const clone = tf.clone(x);
      const cast = tf.cast(x, dtype);
      expect(kernelPathCounts()).toEqual({ 'Identity:alias': 1, 'Cast:alias': 1 });
      for (const alias of [clone, cast]) {
        expect(alias.dtype).toBe(dtype);
        expect(alias.shape).toEqual([2, 2]);
        expect(alias.dataId).toBe(x.dataId);
        expect(heapOffset(backend, alias)).toBe(heapOffset(backend, x));
      }
      expect(backend.numDataIds()).toBe(buffers);
      // Each tensor has its own lifetime: the memory goes when the last of the three is disposed.
      x.dispose();
      expect([...clone.dataSync()]).toEqual([...values]);
      clone.dispose();
      expect([...cast.dataSync()]).toEqual([...values]);
      expect(backend.numDataIds()).toBe(buffers);
      cast.dispose();
      expect(backend.numDataIds()).toBe(buffers - 1);
    },
  );

  it('a Cast to another dtype converts into new memory', () => {
    const backend = tf.backend() as WasmBackend;
    const x = tf.tensor([1.5, -2.75, 3, 0], [4]);
    resetKernelPathCounts();
    const asInt = tf.cast(x, 'int32');
    expect(kernelPathCounts()).toEqual({ 'Cast:convert': 1 });
    expect(asInt.dtype).toBe('int32');
    expect([...asInt.dataSync()]).toEqual([1, -2, 3, 0]);
    expect(heapOffset(backend, asInt)).not.toBe(heapOffset(backend, x));
    tf.dispose([x, asInt]);
  });

  it('registration is idempotent and leaves no tensors behind', () => {
    expect(registerWasmTrainingKernels()).toEqual([]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i += 1) {
      tf.tidy(() => {
        const x = tf.randomNormal([2, 6, 6, 2]) as tf.Tensor4D;
        const f = tf.randomNormal([3, 3, 2, 4]) as tf.Tensor4D;
        tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.maxPool(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), 2, 2, 'valid'),
        )([x, f]);
      });
    }
    expect(tf.memory().numTensors).toBe(before);
  });
}
