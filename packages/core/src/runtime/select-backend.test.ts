import { PassThrough } from 'node:stream';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { BackendError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import type { MachineProbes } from './probes.ts';
import { realMachineProbes } from './probes.ts';
import { selectBackend } from './select-backend.ts';

/** This machine's real answers, except for the parts a test replaces. */
function probes(overrides: Partial<MachineProbes> = {}): MachineProbes {
  return { ...realMachineProbes({}), ...overrides };
}

const A100 = { ok: true, stdout: 'NVIDIA A100-SXM4-40GB, 535.104.05, 8.0\n', stderr: '' };

/**
 * Stands in for @tensorflow/tfjs-node-gpu: "loading" it registers a backend named 'tensorflow' whose kernels are the
 * cpu backend's, so only the module lookup is fake and the math is real.
 */
async function fakeNativeModule(): Promise<unknown> {
  if (!tf.findBackend('tensorflow')) {
    tf.registerBackend('tensorflow', () => new MathBackendCPU());
    for (const kernel of tf.getKernelsForBackend('cpu'))
      tf.registerKernel({ ...kernel, backendName: 'tensorflow' });
  }
  return {};
}

function capturedLogger() {
  const stream = new PassThrough();
  const lines: Array<Record<string, unknown>> = [];
  stream.on('data', (chunk: Buffer) =>
    chunk
      .toString()
      .split('\n')
      .filter(Boolean)
      .forEach((l) => {
        lines.push(JSON.parse(l));
      }),
  );
  return { logger: createLogger({ destination: stream }), lines };
}

afterAll(async () => {
  if (tf.findBackend('tensorflow')) tf.removeBackend('tensorflow');
  await tf.setBackend('cpu');
});

describe('selectBackend', () => {
  it('auto on this machine picks wasm and logs why the native backends were skipped', async () => {
    const { logger, lines } = capturedLogger();
    const chosen = await selectBackend(
      { backend: 'auto' },
      {
        probes: probes({ runCommand: async () => ({ ok: false, stdout: '', stderr: 'not found' }) }),
        logger,
      },
    );
    expect(chosen.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(chosen.skipped.map((s) => s.backend)).toEqual(['tensorflow-gpu', 'tensorflow']);
    expect(chosen.skipped[0]!.reason).toMatch(/no CUDA GPU visible/);
    expect(chosen.skipped[1]!.reason).toMatch(/libtensorflow binary is missing|not installed/);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.filter((l) => l.message === 'backend skipped').map((l) => l.backend)).toEqual([
      'tensorflow-gpu',
      'tensorflow',
    ]);
    expect(lines.find((l) => l.message === 'backend selected')).toMatchObject({ backend: 'wasm' });
    // The training kernels came with it: a conv filter gradient runs on wasm.
    const grad = tf.grad((f: tf.Tensor) =>
      tf.conv2d(tf.ones([1, 4, 4, 1]) as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid'),
    )(tf.ones([3, 3, 1, 1]));
    expect([...grad.dataSync()]).toEqual(new Array(9).fill(4));
  });

  it('an explicit backend that is unavailable is an error with a hint, not a fallback', async () => {
    const error = await selectBackend(
      { backend: 'tensorflow-gpu' },
      { probes: probes({ runCommand: async () => ({ ok: false, stdout: '', stderr: '' }) }) },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).message).toMatch(
      /backend 'tensorflow-gpu' is not available: no CUDA GPU visible/,
    );
    expect((error as BackendError).hint).toMatch(/nvidia-smi/);

    const missing = await selectBackend({ backend: 'tensorflow' }, { probes: probes() }).catch(
      (e: unknown) => e,
    );
    expect((missing as BackendError).message).toMatch(
      /@tensorflow\/tfjs-node .*(libtensorflow|not installed)/,
    );
  });

  it('explains a native package that is not installed at all', async () => {
    const notInstalled = Object.assign(
      new Error("Cannot find package '@tensorflow/tfjs-node' imported from x"),
      { code: 'ERR_MODULE_NOT_FOUND' },
    );
    const error = await selectBackend(
      { backend: 'tensorflow' },
      {
        probes: probes({
          loadModule: async () => {
            throw notInstalled;
          },
        }),
      },
    ).catch((e: unknown) => e);
    expect((error as BackendError).message).toMatch(/@tensorflow\/tfjs-node is not installed/);
  });

  it('explicit cpu works', async () => {
    expect((await selectBackend({ backend: 'cpu' }, { probes: probes() })).backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('auto prefers tfjs-node-gpu when it loads and a GPU is visible (faked lookup, real math)', async () => {
    const looked: string[] = [];
    const chosen = await selectBackend(
      { backend: 'auto' },
      {
        probes: probes({
          runCommand: async (command) =>
            command === 'nvidia-smi' ? A100 : { ok: false, stdout: '', stderr: '' },
          loadModule: async (name) => {
            looked.push(name);
            return fakeNativeModule();
          },
        }),
      },
    );
    expect(chosen).toMatchObject({ backend: 'tensorflow-gpu', tfBackendName: 'tensorflow', skipped: [] });
    expect(looked).toEqual(['@tensorflow/tfjs-node-gpu']);
    expect([...tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()]).toEqual([11]);
  });
});
