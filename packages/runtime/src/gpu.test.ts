import { describe, expect, it } from 'vitest';
import { driverAtLeast, findCudaLibraries, kernelSupportFor, listGpus } from './gpu.ts';
import type { CommandResult, MachineProbes } from './probes.ts';

function machine(
  answer: (command: string, args: string[]) => CommandResult,
  env: Record<string, string> = {},
): MachineProbes & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    env,
    loadModule: async () => {
      throw new Error('not used');
    },
    findNativeAddon: () => {
      throw new Error('not used');
    },
    runCommand: async (command, args) => {
      calls.push([command, ...args].join(' '));
      return answer(command, args);
    },
  };
}

const ok = (stdout: string): CommandResult => ({ ok: true, stdout, stderr: '' });
const fail = (stderr: string): CommandResult => ({ ok: false, stdout: '', stderr });

describe('kernelSupportFor (libtensorflow 2.9.1: SASS sm_35..sm_75, PTX compute_80)', () => {
  it('runs prebuilt machine code up to Turing, JIT-compiles PTX from Ampere on, refuses pre-Kepler-3.5', () => {
    expect(['3.7', '5.2', '6.1', '7.0', '7.2', '7.5'].map(kernelSupportFor)).toEqual(
      new Array(6).fill('sass'),
    );
    expect(['8.0', '8.6', '8.9', '9.0', '10.0'].map(kernelSupportFor)).toEqual(new Array(5).fill('ptx-jit'));
    expect(kernelSupportFor('3.0')).toBe('unsupported');
    expect(kernelSupportFor(undefined)).toBe('unknown');
  });
});

describe('driverAtLeast', () => {
  it('compares dotted versions numerically against the CUDA 11 floor 450.80.02', () => {
    expect(driverAtLeast('535.104.05')).toBe(true);
    expect(driverAtLeast('450.80.02')).toBe(true);
    expect(driverAtLeast('450.51.06')).toBe(false);
    expect(driverAtLeast('418.67')).toBe(false);
  });
});

describe('listGpus', () => {
  it('parses one line per GPU and treats a failing nvidia-smi as no GPU', async () => {
    const two = machine(() => ok('NVIDIA H100 80GB HBM3, 550.54.15, 9.0\nNVIDIA L4, 550.54.15, 8.9\n'));
    expect(await listGpus(two)).toEqual([
      { name: 'NVIDIA H100 80GB HBM3', driverVersion: '550.54.15', computeCapability: '9.0' },
      { name: 'NVIDIA L4', driverVersion: '550.54.15', computeCapability: '8.9' },
    ]);
    expect(await listGpus(machine(() => fail('nvidia-smi: not found')))).toEqual([]);
  });

  it('asks again without compute_cap when an older driver rejects the field', async () => {
    const old = machine((_command, args) =>
      args[0]!.includes('compute_cap')
        ? fail('Field "compute_cap" is not a valid field to query.')
        : ok('Tesla T4, 470.57.02\n'),
    );
    expect(await listGpus(old)).toEqual([
      { name: 'Tesla T4', driverVersion: '470.57.02', computeCapability: undefined },
    ]);
    expect(old.calls).toHaveLength(2);
  });
});

describe('findCudaLibraries', () => {
  it('looks in the ldconfig cache, LD_LIBRARY_PATH and the default directories, as dlopen does', async () => {
    const probes = machine(
      (command, args) => {
        if (command === 'ldconfig')
          return ok('\tlibcudart.so.11.0 (libc6,x86-64) => /usr/local/cuda-11.2/lib64/libcudart.so.11.0\n');
        if (command === 'ls' && args[0] === '/opt/cudnn/lib') return ok('libcudnn.so.8\nlibcudnn.so.8.1.1\n');
        if (command === 'ls' && args[0] === '/usr/lib64') return ok('libcublas.so.11\nlibcublasLt.so.11\n');
        return fail('No such file or directory');
      },
      { LD_LIBRARY_PATH: '/opt/cudnn/lib:' },
    );
    const found = await findCudaLibraries(probes);
    expect(found).toMatchObject({
      'libcudart.so.11.0': '/usr/local/cuda-11.2/lib64/libcudart.so.11.0',
      'libcudnn.so.8': '/opt/cudnn/lib/libcudnn.so.8',
      'libcublas.so.11': '/usr/lib64/libcublas.so.11',
      'libcufft.so.10': undefined,
    });
    // Each directory is listed once, however many libraries are looked for.
    expect(probes.calls.filter((c) => c === 'ls /usr/lib64')).toHaveLength(1);
  });

  it('finds ldconfig in /sbin when it is not on PATH', async () => {
    const probes = machine((command) =>
      command === '/sbin/ldconfig'
        ? ok('\tlibcudnn.so.8 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcudnn.so.8\n')
        : fail('not found'),
    );
    expect((await findCudaLibraries(probes))['libcudnn.so.8']).toBe(
      '/usr/lib/x86_64-linux-gnu/libcudnn.so.8',
    );
  });
});
