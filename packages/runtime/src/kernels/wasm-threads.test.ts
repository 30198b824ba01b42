import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { BackendError } from '@tfmlops/core';
import { describe, expect, it } from 'vitest';
import { maxRelativeError, seededValues, valuesOn } from './gradient-check.ts';
import { registerWasmTrainingKernels } from './index.ts';
import { configureWasmBackend } from './wasm-threads.ts';

// Each test file runs in its own process, so this file owns the wasm backend's registration.
describe('configureWasmBackend', () => {
  it('rejects thread counts outside 1..8 with a hint', async () => {
    await expect(configureWasmBackend({ threads: 0 })).rejects.toBeInstanceOf(BackendError);
    await expect(configureWasmBackend({ threads: 9 })).rejects.toThrow(/1 to 8/);
    await expect(configureWasmBackend({ threads: 1.5 })).rejects.toThrow(/integer/);
  });

  it('runs the threaded build on 2 threads in Node, with kernels matching the cpu backend', async () => {
    expect(await configureWasmBackend({ threads: 2 })).toBe(2);
    registerWasmTrainingKernels();
    expect(await tf.setBackend('wasm')).toBe(true);
    expect(getThreadsCount()).toBe(2);
    expect(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')).toBe(true);
    const x = seededValues(4 * 12 * 12 * 8, 1);
    const f = seededValues(3 * 3 * 8 * 16, 2);
    const w = seededValues(16 * 10, 3);
    const run = () => {
      const input = tf.tensor4d(x, [4, 12, 12, 8]);
      const conv = tf.relu(tf.conv2d(input, tf.tensor4d(f, [3, 3, 8, 16]), 1, 'same'));
      // Max pool and a bias-style sum exercise the SIMD helpers over the shared memory.
      const pooled = tf.sum(tf.maxPool(conv, 2, 2, 'valid'), [1, 2]) as tf.Tensor2D;
      const logits = tf.matMul(pooled, tf.tensor2d(w, [16, 10]));
      const grad = tf.grad((t: tf.Tensor) =>
        tf.sum(tf.square(tf.conv2d(t as tf.Tensor4D, tf.tensor4d(f, [3, 3, 8, 16]), 1, 'same'))),
      )(input);
      const poolGrad = tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(conv);
      return [logits, grad, poolGrad, tf.sum(conv, [0, 1, 2])];
    };
    const expected = await valuesOn('cpu', run);
    const actual = await valuesOn('wasm', run);
    for (const [i, values] of expected.entries())
      expect(maxRelativeError(actual[i]!, values)).toBeLessThan(1e-4);
  });

  it('refuses a different thread count once the backend has started', async () => {
    expect(tf.findBackend('wasm')).toBeTruthy();
    expect(await configureWasmBackend({ threads: 2 })).toBe(2);
    await expect(configureWasmBackend({ threads: 1 })).rejects.toThrow(/already started with 2/);
  });

  it('lets a script that computed on threads exit by itself (idle pool threads do not hold the process)', async () => {
    const script = fileURLToPath(new URL('./fixtures/threaded-script.ts', import.meta.url));
    // A hang is what this guards against: execFile kills the child at the timeout and the test fails.
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], {
      timeout: 60_000,
    });
    expect(stdout.trim()).toBe('64');
  }, 90_000);
});
