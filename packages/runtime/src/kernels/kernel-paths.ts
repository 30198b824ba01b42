/**
 * Test hook: how often each formulation of our wasm kernels ran, so that a test named after a path can check that
 * this path is the one that ran. One map increment per kernel call; nothing else.
 */
const counts = new Map<string, number>();

/** Notes that `kernel` ran as `path` (e.g. 'Conv2DBackpropFilter', 'patch-rows'). */
export function recordKernelPath(kernel: string, path: string): void {
  const key = `${kernel}:${path}`;
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Paths run since the last reset, as { 'Kernel:path': count }. */
export function kernelPathCounts(): Record<string, number> {
  return Object.fromEntries(counts);
}

export function resetKernelPathCounts(): void {
  counts.clear();
}
