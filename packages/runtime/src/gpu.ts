import type { MachineProbes } from './probes.ts';

export interface GpuInfo {
  name: string;
  driverVersion: string;
  /** e.g. "8.6"; undefined when the driver is too old to report it. */
  computeCapability: string | undefined;
}

/** Lists CUDA GPUs through nvidia-smi; an empty list when there is no driver or no GPU. */
export async function listGpus(probes: MachineProbes): Promise<GpuInfo[]> {
  let result = await probes.runCommand('nvidia-smi', [
    '--query-gpu=name,driver_version,compute_cap',
    '--format=csv,noheader',
  ]);
  // Drivers older than ~510 do not know the compute_cap field and reject the whole query.
  if (!result.ok && /compute_cap/.test(result.stderr + result.stdout)) {
    result = await probes.runCommand('nvidia-smi', [
      '--query-gpu=name,driver_version',
      '--format=csv,noheader',
    ]);
  }
  if (!result.ok) return [];
  return result.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !/^No devices were found/i.test(line))
    .map((line) => {
      const [name = '', driverVersion = '', cap] = line.split(',').map((part) => part.trim());
      return { name, driverVersion, computeCapability: cap && /^\d+\.\d+$/.test(cap) ? cap : undefined };
    });
}

/**
 * tfjs-node-gpu 4.x runs libtensorflow 2.9.1, built against CUDA 11.2 and cuDNN 8.1. TensorFlow dlopens these at
 * start and, when one is missing, logs "Cannot dlopen some GPU libraries" and quietly computes on the CPU, so they
 * are checked before the GPU build is chosen. Sonames are those of the CUDA 11.x runtime packages.
 */
export const CUDA_RUNTIME_LIBRARIES = [
  'libcudart.so.11.0',
  'libcublas.so.11',
  'libcublasLt.so.11',
  'libcufft.so.10',
  'libcurand.so.10',
  'libcusolver.so.11',
  'libcusparse.so.11',
] as const;
export const CUDNN_LIBRARY = 'libcudnn.so.8';
export const CUDA_LIBRARIES = [...CUDA_RUNTIME_LIBRARIES, CUDNN_LIBRARY] as const;

/** CUDA 11.x needs at least this Linux driver (its minor-version compatibility floor). */
export const MIN_DRIVER_VERSION = '450.80.02';

/**
 * TensorFlow 2.5-2.11 release builds (libtensorflow 2.9.1 among them) carry machine code (SASS) for these
 * architectures and PTX for compute_80 only. SASS runs on the same major version at an equal or higher minor; every
 * GPU of compute capability 8.0 or newer (A100, A10/L4, H100) has no SASS and JIT-compiles the PTX when TensorFlow
 * starts, which takes many minutes unless the driver's compute cache keeps the result.
 */
export const LIBTENSORFLOW_SASS = ['3.5', '5.0', '6.0', '7.0', '7.5'] as const;
export const LIBTENSORFLOW_PTX = '8.0';

export type KernelSupport = 'sass' | 'ptx-jit' | 'unsupported' | 'unknown';

/** How libtensorflow 2.9.1 runs on a GPU of this compute capability. */
export function kernelSupportFor(computeCapability: string | undefined): KernelSupport {
  const parsed = parseCapability(computeCapability);
  if (!parsed) return 'unknown';
  const hasSass = LIBTENSORFLOW_SASS.some((sass) => {
    const s = parseCapability(sass)!;
    return s.major === parsed.major && s.minor <= parsed.minor;
  });
  if (hasSass) return 'sass';
  const ptx = parseCapability(LIBTENSORFLOW_PTX)!;
  if (parsed.major > ptx.major || (parsed.major === ptx.major && parsed.minor >= ptx.minor)) return 'ptx-jit';
  return 'unsupported';
}

function parseCapability(value: string | undefined): { major: number; minor: number } | undefined {
  const match = value?.match(/^(\d+)\.(\d+)$/);
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

/** True when a driver version string ("535.104.05") is at least `minimum`. */
export function driverAtLeast(version: string, minimum: string = MIN_DRIVER_VERSION): boolean {
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  if (a.some(Number.isNaN)) return true; // unparseable: do not raise a false alarm
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/** Directories the dynamic loader searches after LD_LIBRARY_PATH and the ldconfig cache. */
const DEFAULT_LIBRARY_DIRS = ['/lib64', '/usr/lib64', '/lib', '/usr/lib'];

/**
 * Where each CUDA 11 / cuDNN 8 library is found, looking where dlopen looks (LD_LIBRARY_PATH, the ldconfig cache,
 * the default directories), or undefined.
 */
export async function findCudaLibraries(probes: MachineProbes): Promise<Record<string, string | undefined>> {
  const cache = (await ldconfigCache(probes)).split('\n');
  const dirs = [...(probes.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...DEFAULT_LIBRARY_DIRS];
  const listings = new Map<string, string[]>();
  const listing = async (dir: string) => {
    if (!listings.has(dir)) {
      const result = await probes.runCommand('ls', [dir]);
      listings.set(dir, result.ok ? result.stdout.split('\n') : []);
    }
    return listings.get(dir)!;
  };
  const found: Record<string, string | undefined> = {};
  for (const library of CUDA_LIBRARIES) {
    const line = cache.find((l) => l.trim().startsWith(`${library} `));
    found[library] = line?.split('=>')[1]?.trim();
    for (const dir of dirs) {
      if (found[library]) break;
      if ((await listing(dir)).includes(library)) found[library] = `${dir}/${library}`;
    }
  }
  return found;
}

/** `ldconfig -p`; it lives in /sbin, which is often not on an unprivileged user's PATH. */
async function ldconfigCache(probes: MachineProbes): Promise<string> {
  for (const command of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    const result = await probes.runCommand(command, ['-p']);
    if (result.ok) return result.stdout;
  }
  return '';
}
