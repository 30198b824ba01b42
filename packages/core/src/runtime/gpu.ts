import type { MachineProbes } from './probes.ts';

export interface GpuInfo {
  name: string;
  driverVersion: string;
  /** e.g. "8.6"; undefined when the driver is too old to report it. */
  computeCapability: string | undefined;
}

/** Lists CUDA GPUs through nvidia-smi; an empty list when there is no driver or no GPU. */
export async function listGpus(probes: MachineProbes): Promise<GpuInfo[]> {
  const result = await probes.runCommand('nvidia-smi', [
    '--query-gpu=name,driver_version,compute_cap',
    '--format=csv,noheader',
  ]);
  if (!result.ok) return [];
  return result.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [name = '', driverVersion = '', cap] = line.split(',').map((part) => part.trim());
      return { name, driverVersion, computeCapability: cap && /^\d+\.\d+$/.test(cap) ? cap : undefined };
    });
}

/**
 * tfjs-node-gpu 4.x ships libtensorflow 2.9.1, built for CUDA 11.2 and cuDNN 8.1 with kernels up to Ampere (8.6);
 * newer GPUs JIT-compile its PTX on first start, which takes minutes unless the cache persists.
 */
export const CUDA_LIBRARIES = ['libcudart.so.11.0', 'libcudnn.so.8'] as const;
export const NEWEST_PREBUILT_COMPUTE_CAPABILITY = 8.6;

/** Where each CUDA library is found (ldconfig cache, then LD_LIBRARY_PATH), or undefined. */
export async function findCudaLibraries(probes: MachineProbes): Promise<Record<string, string | undefined>> {
  const cache = await probes.runCommand('ldconfig', ['-p']);
  const found: Record<string, string | undefined> = {};
  for (const library of CUDA_LIBRARIES) {
    const line = cache.stdout.split('\n').find((l) => l.trim().startsWith(`${library} `));
    found[library] = line?.split('=>')[1]?.trim();
    if (!found[library]) {
      for (const dir of (probes.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)) {
        const listing = await probes.runCommand('ls', [dir]);
        if (listing.ok && listing.stdout.split('\n').includes(library)) {
          found[library] = `${dir}/${library}`;
          break;
        }
      }
    }
  }
  return found;
}
