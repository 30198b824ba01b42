import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from './index.ts';
import { describeKernelSuite } from './kernel-suite.test-support.ts';

// The stock single-threaded SIMD build; kernels-threaded.test.ts runs the same suite on the threaded one.
beforeAll(async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  await tf.ready();
});

it('runs on the single-threaded wasm build', () => {
  expect(tf.getBackend()).toBe('wasm');
  expect(getThreadsCount()).toBe(1);
});

describeKernelSuite('1 thread');
