import { PassThrough } from 'node:stream';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { BackendError, createLogger } from '@tfmlops/core';
import { afterEach, describe, expect, it } from 'vitest';
import { CUDA_LIBRARIES } from './gpu.ts';
import { type CommandResult, type MachineProbes, realMachineProbes } from './probes.ts';
import { selectBackend } from './select-backend.ts';

const NONE: CommandResult = { ok: false, stdout: '', stderr: 'not found' };
const A100 = 'NVIDIA A100-SXM4-40GB, 535.104.05, 8.0\n';
const ALL_CUDA_LIBS = CUDA_LIBRARIES.map(
  (l) => `\t${l} (libc6,x86-64) => /usr/local/cuda-11.2/lib64/${l}`,
).join('\n');

/** This machine's real answers, except for the parts a test replaces. nvidia-smi is absent unless faked. */
function probes(overrides: Partial<MachineProbes> = {}): MachineProbes {
  return { ...realMachineProbes({}), runCommand: async () => NONE, ...overrides };
}

/** A GPU machine's command output: nvidia-smi and ldconfig -p. */
function gpuCommands(smi: string, ldconfig: string): MachineProbes['runCommand'] {
  return async (command) => {
    if (command === 'nvidia-smi') return { ok: true, stdout: smi, stderr: '' };
    if (command === 'ldconfig') return { ok: true, stdout: ldconfig, stderr: '' };
    return NONE;
  };
}

/**
 * Stands in for @tensorflow/tfjs-node-gpu: "loading" it registers a backend named 'tensorflow' whose kernels are the
 * cpu backend's, so only the module lookup is fake and the math is real.
 */
async function fakeNativeModule(): Promise<unknown> {
  if (!tf.findBackendFactory('tensorflow')) {
    tf.registerBackend('tensorflow', () => new MathBackendCPU());
    for (const kernel of tf.getKernelsForBackend('cpu'))
      if (!tf.getKernel(kernel.kernelName, 'tensorflow'))
        tf.registerKernel({ ...kernel, backendName: 'tensorflow' });
  }
  return {};
}

function capturedLogger() {
  const stream = new PassThrough();
  const lines: Array<Record<string, unknown>> = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
  });
  return { logger: createLogger({ destination: stream, pretty: false }), lines };
}

async function rejection(promise: Promise<unknown>): Promise<BackendError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BackendError);
  return error as BackendError;
}

afterEach(async () => {
  if (tf.findBackendFactory('tensorflow')) tf.removeBackend('tensorflow');
  for (const kernel of tf.getKernelsForBackend('tensorflow'))
    tf.unregisterKernel(kernel.kernelName, 'tensorflow');
  await tf.setBackend('cpu');
});

describe('selectBackend on this machine (no GPU, tfjs-node present without libtensorflow)', () => {
  it('auto picks wasm, logs why the native backends were skipped, and wasm can train a convolution', async () => {
    const { logger, lines } = capturedLogger();
    const chosen = await selectBackend({ backend: 'auto' }, { probes: probes(), logger });
    expect(chosen.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(chosen.reason).toMatch(/WebAssembly \(SIMD on/);
    expect(chosen.skipped.map((s) => s.backend)).toEqual(['tensorflow-gpu', 'tensorflow']);
    expect(chosen.skipped[0]!.reason).toMatch(/no CUDA GPU visible/);
    expect(chosen.skipped[1]!.reason).toMatch(/tfjs-node is installed but its native addon .* is missing/);
    // The failed import registered tfjs-node's kernels under 'tensorflow' before throwing; they were removed.
    expect(tf.getKernelsForBackend('tensorflow')).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.filter((l) => l.message === 'backend skipped').map((l) => l.backend)).toEqual([
      'tensorflow-gpu',
      'tensorflow',
    ]);
    expect(lines.find((l) => l.message === 'backend selected')).toMatchObject({ backend: 'wasm' });
    // Stock tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter; selecting wasm registered it.
    const grad = tf.grad((f: tf.Tensor) =>
      tf.conv2d(tf.ones([1, 4, 4, 1]) as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid'),
    )(tf.ones([3, 3, 1, 1]));
    expect([...grad.dataSync()]).toEqual(new Array(9).fill(4));
  });

  it('an explicit backend that is unavailable is an error with the reason and a fix, not a fallback', async () => {
    const gpu = await rejection(selectBackend({ backend: 'tensorflow-gpu' }, { probes: probes() }));
    expect(gpu.message).toMatch(/backend 'tensorflow-gpu' is not available: no CUDA GPU visible/);
    expect(gpu.hint).toMatch(/nvidia-smi/);

    const native = await rejection(selectBackend({ backend: 'tensorflow' }, { probes: probes() }));
    expect(native.message).toMatch(/@tensorflow\/tfjs-node is installed but its native addon/);
    expect(native.hint).toMatch(/pnpm rebuild @tensorflow\/tfjs-node.*TFJS_NODE_CDN_STORAGE/);
    expect((native.cause as Error).message).toMatch(/tfjs_binding\.node/);
    expect(tf.getBackend()).toBe('cpu');
  });

  it('explicit cpu works', async () => {
    const chosen = await selectBackend({ backend: 'cpu' }, { probes: probes() });
    expect(chosen).toMatchObject({ backend: 'cpu', tfBackendName: 'cpu', skipped: [] });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('runtime.threads loads the threaded wasm build, and refuses a switch once wasm has started', async () => {
    // Earlier tests in this file started the single-threaded backend; the threaded start itself is covered by
    // kernels/wasm-threads.test.ts in a fresh process.
    const error = await selectBackend({ backend: 'wasm', threads: 4 }, { probes: probes() }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).message).toMatch(/already started with 1 thread\(s\); cannot switch to 4/);
  });
});

describe('selectBackend with a faked module lookup and GPU machine', () => {
  it('auto prefers tfjs-node-gpu when a GPU and the CUDA libraries are there and it loads (real math)', async () => {
    const looked: string[] = [];
    const chosen = await selectBackend(
      { backend: 'auto' },
      {
        probes: probes({
          runCommand: gpuCommands(A100, ALL_CUDA_LIBS),
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

    // Both native packages register 'tensorflow'; the CPU build cannot be had in the same process any more.
    const second = await rejection(selectBackend({ backend: 'tensorflow' }, { probes: probes() }));
    expect(second.message).toMatch(/already loaded @tensorflow\/tfjs-node-gpu/);
  });

  it('a GPU without cuDNN is not used: the GPU build would silently compute on the CPU', async () => {
    const looked: string[] = [];
    const withoutCudnn = ALL_CUDA_LIBS.split('\n')
      .filter((l) => !l.includes('libcudnn'))
      .join('\n');
    const chosen = await selectBackend(
      { backend: 'auto' },
      {
        probes: probes({
          runCommand: gpuCommands(A100, withoutCudnn),
          loadModule: async (name) => {
            looked.push(name);
            throw new Error(
              `The Node.js native addon module (tfjs_binding.node) can not be found at path: x/${name}`,
            );
          },
        }),
      },
    );
    expect(chosen.backend).toBe('wasm');
    expect(chosen.skipped[0]).toMatchObject({ backend: 'tensorflow-gpu' });
    expect(chosen.skipped[0]!.reason).toMatch(/^libcudnn\.so\.8 not found .*silently computes on the CPU/);
    expect(looked).toEqual(['@tensorflow/tfjs-node']);
  });

  it('a driver older than CUDA 11 allows is named', async () => {
    const error = await rejection(
      selectBackend(
        { backend: 'tensorflow-gpu' },
        { probes: probes({ runCommand: gpuCommands('Tesla V100-SXM2-16GB, 418.67, 7.0\n', ALL_CUDA_LIBS) }) },
      ),
    );
    expect(error.message).toMatch(/driver 418\.67 is older than 450\.80\.02/);
  });

  it('tells a package that is not installed from one whose native parts are missing or broken', async () => {
    const failWith = (error: Error) =>
      rejection(
        selectBackend(
          { backend: 'tensorflow' },
          {
            probes: probes({
              loadModule: async () => {
                throw error;
              },
            }),
          },
        ),
      );
    const code = (message: string, c: string) => Object.assign(new Error(message), { code: c });

    const notInstalled = await failWith(
      code("Cannot find package '@tensorflow/tfjs-node' imported from /x/probes.ts", 'ERR_MODULE_NOT_FOUND'),
    );
    expect(notInstalled.message).toMatch(/@tensorflow\/tfjs-node is not installed/);

    // A dependency of tfjs-node missing is not "tfjs-node is not installed", though the path names tfjs-node.
    const brokenDep = await failWith(
      code(
        "Cannot find module '@tensorflow/tfjs' imported from /n/@tensorflow/tfjs-node/dist/index.js",
        'MODULE_NOT_FOUND',
      ),
    );
    expect(brokenDep.message).toMatch(
      /@tensorflow\/tfjs-node failed to load: Cannot find module '@tensorflow\/tfjs'/,
    );

    const noLibtensorflow = await failWith(
      new Error('libtensorflow.so.2: cannot open shared object file: No such file or directory'),
    );
    expect(noLibtensorflow.message).toMatch(/installed but libtensorflow cannot be loaded/);
    expect(noLibtensorflow.hint).toMatch(/pnpm rebuild @tensorflow\/tfjs-node/);
  });
});
