/**
 * Test support: three kinds of machine, described only by what the runtime asks of a machine (module lookups and
 * command output, see probes.ts). The math behind a "loaded" native package is real: it registers a backend named
 * 'tensorflow' whose kernels are the cpu backend's. Tests run once per machine and derive what they expect from the
 * description, so the suite passes the same on a laptop, a GPU VM and inside the trainer image.
 */
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendKind } from './config.ts';
import { CUDA_RUNTIME_LIBRARIES, CUDNN_LIBRARY } from './gpu.ts';
import type { CommandResult, MachineProbes } from './probes.ts';

const NOT_FOUND: CommandResult = { ok: false, stdout: '', stderr: 'command not found' };
const ok = (stdout: string): CommandResult => ({ ok: true, stdout, stderr: '' });

/** What `import()` of a native package does on a machine. */
export type NativePackageOutcome =
  /** libtensorflow and the addon are there: the 'tensorflow' backend registers. */
  | 'loads'
  /** Installed, but its install script could not download the addon (this project's CI machine). */
  | 'addon-missing'
  /** Not in node_modules (`pnpm install --no-optional`). */
  | 'not-installed';

export interface MachineDescription {
  name: string;
  /** nvidia-smi's `--query-gpu=name,driver_version,compute_cap --format=csv,noheader` lines; empty: no GPU. */
  gpus: string[];
  /** Shared libraries the ldconfig cache lists, as [soname, directory]. */
  libraries: Array<[string, string]>;
  /** Libraries on disk that the ldconfig cache does not list (found only through LD_LIBRARY_PATH). */
  unindexedLibraries?: Array<[string, string]>;
  native: Record<'@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu', NativePackageOutcome>;
  env?: Record<string, string>;
  expected: {
    /** What `runtime.backend: auto` picks. */
    autoSelects: BackendKind;
    /** Backends that start when asked for explicitly, each in a fresh process. */
    starts: BackendKind[];
    /** What `pnpm doctor`, which starts them one after another in one process, reports usable. */
    doctorUsable: BackendKind[];
  };
}

const CUDA_11_2 = '/usr/local/cuda-11.2/lib64';
const CUDNN_8 = '/usr/lib/x86_64-linux-gnu';
const SYSTEM_LIBRARIES: Array<[string, string]> = [
  ['libc.so.6', '/lib/x86_64-linux-gnu'],
  ['libstdc++.so.6', '/lib/x86_64-linux-gnu'],
];

/** (a) This project's CI machine: no GPU, tfjs-node installed but its native addon never downloaded. */
export const CPU_MACHINE_WITHOUT_NATIVE: MachineDescription = {
  name: 'no GPU, tfjs-node installed without its addon',
  gpus: [],
  libraries: SYSTEM_LIBRARIES,
  native: { '@tensorflow/tfjs-node': 'addon-missing', '@tensorflow/tfjs-node-gpu': 'addon-missing' },
  expected: { autoSelects: 'wasm', starts: ['wasm', 'cpu'], doctorUsable: ['wasm', 'cpu'] },
};

/** (b) A GPU VM as the trainer image expects it: a T4, CUDA 11.2 and cuDNN 8 installed, tfjs-node-gpu loads. */
export const CUDA_GPU_MACHINE: MachineDescription = {
  name: 'Tesla T4 with CUDA 11.2 and cuDNN 8, tfjs-node-gpu loads',
  gpus: ['Tesla T4, 470.57.02, 7.5'],
  libraries: [
    ...SYSTEM_LIBRARIES,
    ...CUDA_RUNTIME_LIBRARIES.map((library): [string, string] => [library, CUDA_11_2]),
    [CUDNN_LIBRARY, CUDNN_8],
  ],
  native: { '@tensorflow/tfjs-node': 'loads', '@tensorflow/tfjs-node-gpu': 'loads' },
  // tfjs-node and tfjs-node-gpu both own the backend name 'tensorflow': once the GPU build is in, the CPU build
  // cannot be had in the same process.
  expected: {
    autoSelects: 'tensorflow-gpu',
    starts: ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'],
    doctorUsable: ['tensorflow-gpu', 'wasm', 'cpu'],
  },
};

/** (c) A CPU machine where libtensorflow installed: tfjs-node loads. */
export const NATIVE_CPU_MACHINE: MachineDescription = {
  name: 'no GPU, tfjs-node loads',
  gpus: [],
  libraries: SYSTEM_LIBRARIES,
  native: { '@tensorflow/tfjs-node': 'loads', '@tensorflow/tfjs-node-gpu': 'addon-missing' },
  expected: {
    autoSelects: 'tensorflow',
    starts: ['tensorflow', 'wasm', 'cpu'],
    doctorUsable: ['tensorflow', 'wasm', 'cpu'],
  },
};

export const MACHINES = [CPU_MACHINE_WITHOUT_NATIVE, CUDA_GPU_MACHINE, NATIVE_CPU_MACHINE] as const;

/** The probes of a described machine, recording every module looked up and command run. */
export function machineProbes(
  machine: MachineDescription,
  overrides: Partial<MachineProbes> = {},
): MachineProbes & { modulesLoaded: string[]; commands: string[] } {
  const modulesLoaded: string[] = [];
  const commands: string[] = [];
  const ldconfig = machine.libraries
    .map(([soname, dir]) => `\t${soname} (libc6,x86-64) => ${dir}/${soname}`)
    .join('\n');
  return {
    modulesLoaded,
    commands,
    env: machine.env ?? {},
    loadModule: async (name) => {
      modulesLoaded.push(name);
      return importNativePackage(name, nativeOutcome(machine, name));
    },
    findNativeAddon: (name) => {
      const outcome = nativeOutcome(machine, name);
      return outcome === 'not-installed' ? undefined : { path: addonPath(name), exists: outcome === 'loads' };
    },
    runCommand: async (command, args) => {
      commands.push([command, ...args].join(' '));
      if (command === 'nvidia-smi')
        return machine.gpus.length > 0 ? ok(`${machine.gpus.join('\n')}\n`) : NOT_FOUND;
      if (command === 'ldconfig' && args[0] === '-p')
        return ok(`${machine.libraries.length} libs found\n${ldconfig}`);
      if (command === 'ls') {
        const here = [...machine.libraries, ...(machine.unindexedLibraries ?? [])]
          .filter(([, dir]) => dir === args[0])
          .map(([soname]) => soname);
        return here.length > 0 ? ok(here.join('\n')) : { ok: false, stdout: '', stderr: 'No such file' };
      }
      return NOT_FOUND;
    },
    ...overrides,
  };
}

const nativeOutcome = (machine: MachineDescription, name: string): NativePackageOutcome =>
  machine.native[name as keyof MachineDescription['native']] ?? 'not-installed';

/** Where node-pre-gyp puts the addon of a package installed under /app on Node.js 20 (N-API 9: napi-v8). */
const addonPath = (name: string) => `/app/node_modules/${name}/lib/napi-v8/tfjs_binding.node`;

/**
 * What importing a native package does, faithful to tfjs-node 4.22: a working package registers the 'tensorflow'
 * backend and its kernels; one whose addon is missing registers its kernels first and then throws (with no error
 * code) the message below; a package that is not there fails resolution with ERR_MODULE_NOT_FOUND.
 */
export async function importNativePackage(name: string, outcome: NativePackageOutcome): Promise<unknown> {
  if (outcome === 'not-installed') {
    throw Object.assign(
      new Error(`Cannot find package '${name}' imported from /app/packages/runtime/src/probes.ts`),
      {
        code: 'ERR_MODULE_NOT_FOUND',
      },
    );
  }
  registerCpuKernelsAs('tensorflow');
  if (outcome === 'addon-missing') {
    throw new Error(
      `The Node.js native addon module (tfjs_binding.node) can not be found at path: ${addonPath(name)}. \n` +
        `Please run command 'npm rebuild ${name} --build-addon-from-source' to rebuild the native addon module. \n` +
        'If you have problem with building the addon module, please check ' +
        'https://github.com/tensorflow/tfjs/blob/master/tfjs-node/WINDOWS_TROUBLESHOOTING.md or file an issue.',
    );
  }
  if (!tf.findBackendFactory('tensorflow')) tf.registerBackend('tensorflow', () => new MathBackendCPU());
  return {};
}

function registerCpuKernelsAs(backendName: string): void {
  for (const kernel of tf.getKernelsForBackend('cpu'))
    if (!tf.getKernel(kernel.kernelName, backendName)) tf.registerKernel({ ...kernel, backendName });
}

/** Removes the fake native backend and any kernels a failed import left behind; the cpu backend becomes current. */
export async function forgetNativeBackend(): Promise<void> {
  if (tf.findBackendFactory('tensorflow')) tf.removeBackend('tensorflow');
  for (const kernel of tf.getKernelsForBackend('tensorflow'))
    tf.unregisterKernel(kernel.kernelName, 'tensorflow');
  await tf.setBackend('cpu');
}
