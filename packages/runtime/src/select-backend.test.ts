import { PassThrough } from 'node:stream';
import * as tf from '@tensorflow/tfjs-core';
import { BackendError, createLogger } from '@tfmlops/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { BackendKind } from './config.ts';
import {
  CPU_MACHINE_WITHOUT_NATIVE,
  CUDA_GPU_MACHINE,
  forgetNativeBackend,
  MACHINES,
  type MachineDescription,
  machineProbes,
  NATIVE_CPU_MACHINE,
} from './machines.test-support.ts';
import { AUTO_ORDER, selectBackend } from './select-backend.ts';

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

/** Why a backend the machine lacks is skipped, from the machine's description. */
function skipReason(machine: MachineDescription, backend: BackendKind): RegExp {
  if (backend === 'tensorflow-gpu' && machine.gpus.length === 0) return /no CUDA GPU visible/;
  const pkg = backend === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  return machine.native[pkg] === 'not-installed'
    ? /is not installed/
    : /is installed but its native addon \(tfjs_binding\.node\) is missing/;
}

/** A filter gradient on the current backend (wasm needs the training kernels selection registers). */
function convFilterGradient(): number[] {
  return tf.tidy(() => [
    ...tf
      .grad((f: tf.Tensor) => tf.conv2d(tf.ones([1, 4, 4, 1]) as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid'))(
        tf.ones([3, 3, 1, 1]),
      )
      .dataSync(),
  ]);
}

afterEach(forgetNativeBackend);

describe.each(MACHINES)('selectBackend on a machine with $name', (machine) => {
  const { autoSelects, starts } = machine.expected;

  it(`auto picks ${autoSelects}, logs why it skipped the faster ones, and computes gradients on it`, async () => {
    const { logger, lines } = capturedLogger();
    const probes = machineProbes(machine);
    const chosen = await selectBackend({ backend: 'auto' }, { probes, logger });
    expect(chosen.backend).toBe(autoSelects);
    expect(chosen.tfBackendName).toBe(autoSelects.startsWith('tensorflow') ? 'tensorflow' : autoSelects);
    expect(tf.getBackend()).toBe(chosen.tfBackendName);
    const faster = AUTO_ORDER.slice(0, AUTO_ORDER.indexOf(autoSelects));
    expect(chosen.skipped.map((s) => s.backend)).toEqual(faster);
    for (const skipped of chosen.skipped)
      expect(skipped.reason).toMatch(skipReason(machine, skipped.backend));
    // The GPU build is looked up only where a GPU and its libraries are; the CPU build only when it is next; and
    // neither is imported where its addon file is missing (the import alone costs ~0.75 s of CPU).
    const looked = [...faster, autoSelects]
      .flatMap((b) =>
        b === 'tensorflow-gpu' && machine.gpus.length > 0
          ? (['@tensorflow/tfjs-node-gpu'] as const)
          : b === 'tensorflow'
            ? (['@tensorflow/tfjs-node'] as const)
            : [],
      )
      .filter((pkg) => machine.native[pkg] !== 'addon-missing');
    expect(probes.modulesLoaded).toEqual(looked);
    // A failed import registers tfjs-node's kernels under 'tensorflow' before throwing; they are removed again.
    if (!autoSelects.startsWith('tensorflow')) expect(tf.getKernelsForBackend('tensorflow')).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.filter((l) => l.message === 'backend skipped').map((l) => l.backend)).toEqual(faster);
    expect(lines.find((l) => l.message === 'backend selected')).toMatchObject({ backend: autoSelects });
    // Real math on the chosen backend (on wasm this needs the Conv2DBackpropFilter kernel selection registers).
    expect(convFilterGradient()).toEqual(new Array(9).fill(4));
  });

  it(`starts ${starts.join(', ')} when asked explicitly; anything else is an error with the reason and a fix`, async () => {
    for (const backend of AUTO_ORDER) {
      // Each request as in a fresh process: no native build loaded yet.
      await forgetNativeBackend();
      const attempt = selectBackend({ backend }, { probes: machineProbes(machine) });
      if (starts.includes(backend)) {
        const chosen = await attempt;
        expect(chosen).toMatchObject({ backend, skipped: [] });
        expect(tf.getBackend()).toBe(chosen.tfBackendName);
        expect(convFilterGradient()).toEqual(new Array(9).fill(4));
      } else {
        const error = await rejection(attempt);
        expect(error.message).toMatch(new RegExp(`^backend '${backend}' is not available: `));
        expect(error.message).toMatch(skipReason(machine, backend));
        expect(error.hint).toBeTruthy();
        // Never a silent fallback: the current backend stays what it was.
        expect(tf.getBackend()).toBe('cpu');
      }
    }
  });
});

describe('selectBackend details (each on a described machine)', () => {
  it('a native build that loaded keeps the backend name: the other one is refused in the same process', async () => {
    await selectBackend({ backend: 'tensorflow-gpu' }, { probes: machineProbes(CUDA_GPU_MACHINE) });
    const second = await rejection(
      selectBackend({ backend: 'tensorflow' }, { probes: machineProbes(CUDA_GPU_MACHINE) }),
    );
    expect(second.message).toMatch(/already loaded @tensorflow\/tfjs-node-gpu/);
  });

  it('a missing addon is explained with the rebuild command and the CDN mirror setting', async () => {
    const error = await rejection(
      selectBackend({ backend: 'tensorflow' }, { probes: machineProbes(CPU_MACHINE_WITHOUT_NATIVE) }),
    );
    expect(error.hint).toMatch(/pnpm rebuild @tensorflow\/tfjs-node.*TFJS_NODE_CDN_STORAGE/);
    expect((error.cause as Error).message).toMatch(/tfjs_binding\.node/);
  });

  it('a missing addon file is reported without importing the package, in the same words the import gives', async () => {
    const machine = CPU_MACHINE_WITHOUT_NATIVE;
    const checked = machineProbes(machine);
    // The same machine with the file check unable to tell: the package is imported and throws, as before the check.
    const imported = machineProbes(machine, { findNativeAddon: () => undefined });
    const [fromFile, fromImport] = await Promise.all([
      rejection(selectBackend({ backend: 'tensorflow' }, { probes: checked })),
      rejection(selectBackend({ backend: 'tensorflow' }, { probes: imported })),
    ]);
    expect(checked.modulesLoaded).toEqual([]);
    expect(imported.modulesLoaded).toEqual(['@tensorflow/tfjs-node']);
    expect(fromFile.message).toBe(fromImport.message);
    expect(fromFile.hint).toBe(fromImport.hint);
    expect((fromFile.cause as Error).message).toBe((fromImport.cause as Error).message);
    expect(fromFile.message).toMatch(/native addon \(tfjs_binding\.node\) is missing/);

    // auto: wasm, having skipped both native builds for the same reasons, and imported nothing.
    await forgetNativeBackend();
    const auto = await selectBackend({ backend: 'auto' }, { probes: checked });
    await forgetNativeBackend();
    const autoImported = await selectBackend({ backend: 'auto' }, { probes: imported });
    expect(auto.backend).toBe('wasm');
    expect(auto.skipped.map((s) => s.reason)).toEqual(autoImported.skipped.map((s) => s.reason));
    expect(checked.modulesLoaded).toEqual([]);
  });

  it('an addon file that is there is imported (and a failure to load it explained as before)', async () => {
    const probes = machineProbes(NATIVE_CPU_MACHINE);
    expect(probes.findNativeAddon('@tensorflow/tfjs-node')?.exists).toBe(true);
    const chosen = await selectBackend({ backend: 'tensorflow' }, { probes });
    expect(chosen.backend).toBe('tensorflow');
    expect(probes.modulesLoaded).toEqual(['@tensorflow/tfjs-node']);
  });

  it('a GPU without cuDNN is not used: the GPU build would silently compute on the CPU', async () => {
    const withoutCudnn: MachineDescription = {
      ...CUDA_GPU_MACHINE,
      gpus: ['NVIDIA A100-SXM4-40GB, 535.104.05, 8.0'],
      libraries: CUDA_GPU_MACHINE.libraries.filter(([soname]) => soname !== 'libcudnn.so.8'),
    };
    const probes = machineProbes(withoutCudnn);
    const chosen = await selectBackend({ backend: 'auto' }, { probes });
    expect(chosen.backend).toBe('tensorflow');
    expect(chosen.skipped[0]).toMatchObject({ backend: 'tensorflow-gpu' });
    expect(chosen.skipped[0]!.reason).toMatch(/^libcudnn\.so\.8 not found .*silently computes on the CPU/);
    expect(probes.modulesLoaded).toEqual(['@tensorflow/tfjs-node']);
  });

  it('a driver older than CUDA 11 allows is named', async () => {
    const oldDriver = { ...CUDA_GPU_MACHINE, gpus: ['Tesla V100-SXM2-16GB, 418.67, 7.0'] };
    const error = await rejection(
      selectBackend({ backend: 'tensorflow-gpu' }, { probes: machineProbes(oldDriver) }),
    );
    expect(error.message).toMatch(/driver 418\.67 is older than 450\.80\.02/);
  });

  it('tells a package that is not installed from one whose native parts are missing or broken', async () => {
    const failWith = (error: Error) =>
      rejection(
        selectBackend(
          { backend: 'tensorflow' },
          {
            probes: machineProbes(NATIVE_CPU_MACHINE, {
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

  it('runtime.threads is refused once the single-threaded wasm backend has started', async () => {
    // The threaded start itself is covered by kernels/wasm-threads.test.ts in a process of its own.
    const probes = machineProbes(CPU_MACHINE_WITHOUT_NATIVE);
    await selectBackend({ backend: 'wasm' }, { probes });
    const error = await rejection(selectBackend({ backend: 'wasm', threads: 4 }, { probes }));
    expect(error.message).toMatch(/already started with 1 thread\(s\); cannot switch to 4/);
  });
});
