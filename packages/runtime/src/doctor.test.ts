import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { diagnose } from './diagnose.ts';
import { formatDoctorReport, runDoctor } from './doctor.ts';
import type { DoctorReport } from './doctor-types.ts';
import { CUDA_LIBRARIES } from './gpu.ts';
import {
  CPU_MACHINE_WITHOUT_NATIVE,
  CUDA_GPU_MACHINE,
  forgetNativeBackend,
  MACHINES,
  machineProbes,
} from './machines.test-support.ts';
import { AUTO_ORDER } from './select-backend.ts';

const problemsText = (report: Pick<DoctorReport, 'problems'>) =>
  report.problems.map((p) => `${p.problem} => ${p.fix}`).join('\n');

afterEach(forgetNativeBackend);

describe.each(MACHINES)('runDoctor on a machine with $name', (machine) => {
  it(`reports ${machine.expected.doctorUsable.join(', ')} usable, auto selecting ${machine.expected.autoSelects}`, async () => {
    const report = await runDoctor(machineProbes(machine));
    expect(report.backends.map((b) => b.backend)).toEqual(AUTO_ORDER);
    expect(report.backends.filter((b) => b.usable).map((b) => b.backend)).toEqual(
      machine.expected.doctorUsable,
    );
    expect(report.autoSelects).toBe(machine.expected.autoSelects);
    expect(report.healthy).toBe(true);
    expect(report.gpus.map((g) => g.name)).toEqual(machine.gpus.map((line) => line.split(',')[0]));
    // CUDA libraries are looked for only where there is a GPU; here every one is found.
    if (machine.gpus.length > 0) expect(Object.values(report.cudaLibraries).every(Boolean)).toBe(true);
    else expect(report.cudaLibraries).toEqual({});
    // The doctor leaves the process on the cpu backend, whatever it started along the way.
    expect(tf.getBackend()).toBe('cpu');
    const native = report.backends.find((b) => b.backend === 'tensorflow')!;
    const gpu = report.backends.find((b) => b.backend === 'tensorflow-gpu')!;
    if (gpu.usable || native.usable) {
      expect(report.problems).toEqual([]);
    } else {
      // Without native TensorFlow the one problem is that, with the fix.
      expect(report.problems).toHaveLength(1);
      expect(report.problems[0]!.problem).toMatch(
        /native TensorFlow is unavailable .*tfjs_binding\.node.*training runs on wasm/,
      );
      expect(report.problems[0]!.fix).toMatch(/pnpm rebuild @tensorflow\/tfjs-node/);
    }
    const text = formatDoctorReport(report);
    expect(text).toMatch(new RegExp(`auto selects: ${machine.expected.autoSelects}`));
    expect(text).toMatch(
      machine.gpus.length > 0 ? /GPUs:\n {2}Tesla T4: driver 470\.57\.02/ : /GPUs: none visible/,
    );
    expect(text).toMatch(/ok: this machine can train/);
  });
});

describe('runDoctor on GPU machines with something missing', () => {
  it('an A100 with CUDA 11.2 but no cuDNN 8: tensorflow-gpu refused, cuDNN named, PTX cache advised', async () => {
    const report = await runDoctor(
      machineProbes({
        ...CPU_MACHINE_WITHOUT_NATIVE,
        gpus: ['NVIDIA A100-SXM4-40GB, 535.104.05, 8.0'],
        libraries: CUDA_GPU_MACHINE.libraries.filter(([soname]) => soname !== 'libcudnn.so.8'),
      }),
    );
    expect(report.gpus).toEqual([
      {
        name: 'NVIDIA A100-SXM4-40GB',
        driverVersion: '535.104.05',
        computeCapability: '8.0',
        kernels: 'ptx-jit',
      },
    ]);
    expect(report.cudaLibraries).toMatchObject({
      'libcudart.so.11.0': '/usr/local/cuda-11.2/lib64/libcudart.so.11.0',
      'libcudnn.so.8': undefined,
    });
    expect(report.backends[0]).toMatchObject({ backend: 'tensorflow-gpu', usable: false });
    expect(report.autoSelects).toBe('wasm');
    const text = problemsText(report);
    expect(text).toMatch(/libcudnn\.so\.8 not found: .*cuDNN 8\.1 .*=> install cuDNN 8\.1\+ for CUDA 11\.x/);
    expect(text).not.toMatch(/libcudart.* not found/);
    expect(text).toMatch(/A100.*compute capability 8\.0\) has no prebuilt kernels.*=> set CUDA_CACHE_PATH/);
    expect(text).toMatch(/a GPU is visible but tensorflow-gpu does not start: libcudnn\.so\.8 not found/);
    expect(formatDoctorReport(report)).toMatch(/libcudnn\.so\.8\s+NOT FOUND/);
  });

  it('an H100 (compute 9.0) with every library on LD_LIBRARY_PATH: GPU selected, only the CUDA cache advised', async () => {
    const h100 = (env: Record<string, string>) =>
      machineProbes({
        ...CUDA_GPU_MACHINE,
        gpus: ['NVIDIA H100 80GB HBM3, 550.54.15, 9.0'],
        libraries: [],
        unindexedLibraries: CUDA_LIBRARIES.map((library): [string, string] => [library, '/opt/cuda']),
        env: { LD_LIBRARY_PATH: '/opt/cuda', ...env },
      });
    const report = await runDoctor(h100({}));
    expect(report.cudaLibraries['libcudnn.so.8']).toBe('/opt/cuda/libcudnn.so.8');
    expect(report.backends[0]).toMatchObject({ backend: 'tensorflow-gpu', usable: true });
    expect(report.backends[1]!.detail).toMatch(/not tried: @tensorflow\/tfjs-node-gpu already provides/);
    expect(report.autoSelects).toBe('tensorflow-gpu');
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]!.problem).toMatch(
      /H100.*9\.0.*CUDA_CACHE_PATH is unset.*CUDA_CACHE_MAXSIZE is unset/,
    );
    expect(report.problems[0]!.fix).toMatch(/CUDA_CACHE_PATH.*CUDA_CACHE_MAXSIZE=4294967296/);

    await forgetNativeBackend();
    const cached = await runDoctor(
      h100({ CUDA_CACHE_PATH: '/var/cache/cuda', CUDA_CACHE_MAXSIZE: '4294967296' }),
    );
    expect(cached.problems).toEqual([]);
    expect(formatDoctorReport(cached)).toMatch(/CUDA_CACHE_PATH=\/var\/cache\/cuda/);
  });
});

describe('diagnose', () => {
  const base = {
    backends: [
      { backend: 'tensorflow-gpu' as const, usable: false, detail: 'no CUDA GPU visible' },
      { backend: 'tensorflow' as const, usable: true, detail: 'loaded' },
      { backend: 'wasm' as const, usable: true, detail: 'ok' },
      { backend: 'cpu' as const, usable: true, detail: 'ok' },
    ],
    wasm: { simd: true, threads: false, relaxedSimd: true },
    tfjsCore: [{ path: '/a', version: '4.22.0', loadedBy: ['core'] }],
    gpus: [],
    cudaLibraries: {},
    cudaCache: { path: undefined, maxSize: undefined, disabled: false },
  };

  it('finds nothing wrong on a healthy CPU machine', () => {
    expect(diagnose(base)).toEqual([]);
  });

  it('names a second tfjs-core, an old driver, a pre-3.5 GPU and a disabled CUDA cache', () => {
    const text = problemsText({
      problems: diagnose({
        ...base,
        tfjsCore: [...base.tfjsCore, { path: '/b', version: '4.21.0', loadedBy: ['@tensorflow/tfjs-node'] }],
        gpus: [
          { name: 'Tesla K10', driverVersion: '418.67', computeCapability: '3.0', kernels: 'unsupported' },
          { name: 'NVIDIA L4', driverVersion: '550.54.15', computeCapability: '8.9', kernels: 'ptx-jit' },
        ],
        cudaLibraries: Object.fromEntries(CUDA_LIBRARIES.map((l) => [l, `/lib/${l}`])),
        cudaCache: { path: '/cache', maxSize: '4294967296', disabled: true },
      }),
    });
    expect(text).toMatch(/2 copies of @tensorflow\/tfjs-core .*4\.21\.0 for @tensorflow\/tfjs-node/);
    expect(text).toMatch(/Tesla K10: NVIDIA driver 418\.67 is older than 450\.80\.02/);
    expect(text).toMatch(
      /Tesla K10 \(compute capability 3\.0\) is older than libtensorflow 2\.9\.1 supports/,
    );
    expect(text).toMatch(/NVIDIA L4 .*CUDA_CACHE_DISABLE=1 turns the cache off.*unset CUDA_CACHE_DISABLE/);
  });

  it('says so when nothing but the cpu backend works', () => {
    const text = problemsText({
      problems: diagnose({
        ...base,
        backends: base.backends.map((b) =>
          b.backend === 'cpu' ? b : { ...b, usable: false, detail: 'broken' },
        ),
      }),
    });
    expect(text).toMatch(/native TensorFlow is unavailable \(broken\); training runs on cpu/);
    expect(text).toMatch(/the wasm backend does not start: broken/);
  });
});

describe('pnpm run doctor (the entry point)', () => {
  const cli = fileURLToPath(new URL('./doctor-cli.ts', import.meta.url));
  const run = (...args: string[]) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', cli, ...args], {
      env: { ...process.env, PATH: '' },
    });

  it('prints the JSON report and exits 0 when a backend that can train works; a bad flag exits 2', async () => {
    const [{ stdout }, error] = await Promise.all([
      run('--json'),
      run('--jsn').catch((e: { code: number; stderr: string }) => e),
    ]);
    const report = JSON.parse(stdout) as DoctorReport;
    // This is the real machine: described, not asserted. Whatever it has, wasm trains (Node >= 20), so the
    // report is healthy and auto takes the first backend that started.
    console.info(
      `doctor on this machine: ${report.backends.map((b) => `${b.backend}=${b.usable}`).join(' ')}`,
    );
    expect(report.healthy).toBe(true);
    expect(report.autoSelects).toBe(report.backends.find((b) => b.usable)?.backend);
    expect(error).toMatchObject({ code: 2, stderr: expect.stringMatching(/--jsn/) });
  }, 30_000);
});
