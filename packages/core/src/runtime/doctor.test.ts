import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDoctorReport, runDoctor } from './doctor.ts';
import { type CommandResult, type MachineProbes, realMachineProbes } from './probes.ts';

const NONE: CommandResult = { ok: false, stdout: '', stderr: 'not found' };

/** A GPU machine as its commands would answer: nvidia-smi, ldconfig -p, ls of LD_LIBRARY_PATH dirs. */
function gpuMachine(opts: {
  smi: string;
  ldconfig: string;
  dirs?: Record<string, string[]>;
  env?: Record<string, string>;
}): MachineProbes {
  return {
    ...realMachineProbes(opts.env ?? {}),
    env: opts.env ?? {},
    loadModule: async (name) => {
      if (name !== '@tensorflow/tfjs-node-gpu')
        throw new Error('The Node.js native addon module (tfjs_binding.node) can not be found');
      if (!tf.findBackend('tensorflow')) {
        tf.registerBackend('tensorflow', () => new MathBackendCPU());
        for (const kernel of tf.getKernelsForBackend('cpu'))
          tf.registerKernel({ ...kernel, backendName: 'tensorflow' });
      }
      return {};
    },
    runCommand: async (command, args) => {
      if (command === 'nvidia-smi') return { ok: true, stdout: opts.smi, stderr: '' };
      if (command === 'ldconfig') return { ok: true, stdout: opts.ldconfig, stderr: '' };
      if (command === 'ls') return { ok: true, stdout: (opts.dirs?.[args[0]!] ?? []).join('\n'), stderr: '' };
      return NONE;
    },
  };
}

afterAll(() => {
  if (tf.findBackend('tensorflow')) tf.removeBackend('tensorflow');
});

describe('doctor', () => {
  it('on this machine: wasm and cpu work, native TensorFlow does not, with a fix', async () => {
    const report = await runDoctor({ ...realMachineProbes({}), runCommand: async () => NONE });
    expect(report.backends.map((b) => [b.backend, b.usable])).toEqual([
      ['tensorflow-gpu', false],
      ['tensorflow', false],
      ['wasm', true],
      ['cpu', true],
    ]);
    expect(report.autoSelects).toBe('wasm');
    expect(report.wasm.simd).toBe(true);
    expect(report.healthy).toBe(true);
    expect(report.problems.map((p) => p.problem).join('\n')).toMatch(/native TensorFlow is unavailable/);
    const text = formatDoctorReport(report);
    expect(text).toMatch(/auto selects: wasm/);
    expect(text).toMatch(/GPUs: none visible/);
  });

  it('an A100 machine with CUDA 11.2 but no cuDNN 8: GPU listed, missing library named with a fix', async () => {
    const report = await runDoctor(
      gpuMachine({
        smi: 'NVIDIA A100-SXM4-40GB, 535.104.05, 8.0\n',
        ldconfig: '\tlibcudart.so.11.0 (libc6,x86-64) => /usr/local/cuda-11.2/lib64/libcudart.so.11.0\n',
      }),
    );
    expect(report.gpus).toEqual([
      { name: 'NVIDIA A100-SXM4-40GB', driverVersion: '535.104.05', computeCapability: '8.0' },
    ]);
    expect(report.cudaLibraries).toEqual({
      'libcudart.so.11.0': '/usr/local/cuda-11.2/lib64/libcudart.so.11.0',
      'libcudnn.so.8': undefined,
    });
    const cudnn = report.problems.find((p) => p.problem.startsWith('libcudnn.so.8 not found'));
    expect(cudnn?.fix).toMatch(/cuDNN 8\.1/);
    expect(report.problems.some((p) => /PTX/.test(p.problem))).toBe(false);
    expect(formatDoctorReport(report)).toMatch(/libcudnn\.so\.8: NOT FOUND/);
  });

  it('an H100 (compute 9.0) without a persistent CUDA cache is told to set CUDA_CACHE_PATH', async () => {
    const machine = {
      smi: 'NVIDIA H100 80GB HBM3, 550.54.15, 9.0\n',
      ldconfig: '',
      dirs: { '/opt/cuda/lib': ['libcudart.so.11.0', 'libcudnn.so.8'] },
    };
    const report = await runDoctor(gpuMachine({ ...machine, env: { LD_LIBRARY_PATH: '/opt/cuda/lib' } }));
    expect(report.cudaLibraries['libcudnn.so.8']).toBe('/opt/cuda/lib/libcudnn.so.8');
    expect(report.backends[0]).toMatchObject({ backend: 'tensorflow-gpu', usable: true });
    expect(report.autoSelects).toBe('tensorflow-gpu');
    const ptx = report.problems.find((p) => /PTX/.test(p.problem));
    expect(ptx?.problem).toMatch(/compute capability 9\.0/);
    expect(ptx?.fix).toMatch(/CUDA_CACHE_PATH/);

    const cached = await runDoctor(
      gpuMachine({
        ...machine,
        env: { LD_LIBRARY_PATH: '/opt/cuda/lib', CUDA_CACHE_PATH: '/var/cache/cuda' },
      }),
    );
    expect(cached.problems.some((p) => /PTX/.test(p.problem))).toBe(false);
  });
});
