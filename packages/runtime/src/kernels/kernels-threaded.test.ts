import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from './index.ts';
import { describeKernelSuite } from './kernel-suite.test-support.ts';
import { configureWasmBackend } from './wasm-threads.ts';

// The threaded SIMD build on 2 threads, as `runtime.threads: 2` trains (each test file has its own process, so
// this one owns the wasm backend's registration). XNNPACK splits its work across the pool; our SIMD loops run on
// the shared memory.
beforeAll(async () => {
  await configureWasmBackend({ threads: 2 });
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  await tf.ready();
});

it('runs on the threaded wasm build with 2 threads', () => {
  expect(tf.getBackend()).toBe('wasm');
  expect(getThreadsCount()).toBe(2);
});

describeKernelSuite('2 threads', { sampleShapes: true });
