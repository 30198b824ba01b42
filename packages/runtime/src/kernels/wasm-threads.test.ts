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

  it('runs the threaded build on 2 threads in Node (kernels-threaded.test.ts checks every kernel on it)', async () => {
    expect(await configureWasmBackend({ threads: 2 })).toBe(2);
    registerWasmTrainingKernels();
    expect(await tf.setBackend('wasm')).toBe(true);
    expect(getThreadsCount()).toBe(2);
    expect(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')).toBe(true);
    const [a, b] = [seededValues(64 * 48, 1), seededValues(48 * 32, 2)];
    const product = () => [tf.matMul(tf.tensor2d(a, [64, 48]), tf.tensor2d(b, [48, 32]))];
    const [expected] = await valuesOn('cpu', product);
    const [actual] = await valuesOn('wasm', product);
    expect(maxRelativeError(actual!, expected!)).toBeLessThan(1e-5);
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
