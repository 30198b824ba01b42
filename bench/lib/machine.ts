import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

/** Above this 1-minute load average per core the machine is not idle and the figures say so. */
export const IDLE_LOAD_PER_CORE = 0.3;

/** Where a benchmark ran, recorded with every result. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  /** Per-core L2 cache in bytes where sysfs tells it. */
  l2CacheBytes?: number;
  /** Last-level (L3) cache in bytes where sysfs tells it, shared by the cores listed there. */
  l3CacheBytes?: number;
}

export function describeMachine(): MachineInfo {
  return {
    cpu: cpus()[0]?.model ?? 'unknown cpu',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    l2CacheBytes: cacheBytes(2),
    l3CacheBytes: cacheBytes(3),
  };
}

export function formatMachine(machine: MachineInfo): string {
  return `${machine.cores} x ${machine.cpu}, ${machine.memoryGiB} GiB, Node ${machine.node}`;
}

/** The 1-minute load average now. */
export function loadNow(): number {
  return loadavg()[0]!;
}

/** Load average at the start and end of a run, and how many cores share it. */
export interface LoadAverages {
  start: number;
  end: number;
  cores: number;
}

/** True when the load at start or end exceeds {@link IDLE_LOAD_PER_CORE} per core. */
export function isBusy({ start, end, cores }: LoadAverages): boolean {
  return Math.max(start, end) / cores > IDLE_LOAD_PER_CORE;
}

/** `load average 0.12 at start, 0.20 at end (2 cores)` and, when busy, a warning line to print with the table. */
export function describeLoad(load: LoadAverages): { line: string; warning?: string } {
  const line = `load average ${load.start.toFixed(2)} at start, ${load.end.toFixed(2)} at end (${load.cores} cores)`;
  if (!isBusy(load)) return { line };
  const perCore = Math.max(load.start, load.end) / load.cores;
  return {
    line,
    warning: `WARNING: the machine was not idle (load ${perCore.toFixed(2)} per core > ${IDLE_LOAD_PER_CORE}): other work shared the cores, so these figures are low and noisy; rerun on an idle machine before quoting them.`,
  };
}

/** Size of cpu0's cache at `level` (sysfs index2 = L2, index3 = L3 on x86 Linux). */
function cacheBytes(level: 2 | 3): number | undefined {
  try {
    // sysfs writes sizes as "1024K".
    const text = readFileSync(`/sys/devices/system/cpu/cpu0/cache/index${level}/size`, 'utf8').trim();
    const match = /^(\d+)([KMG]?)$/.exec(text);
    if (!match) return undefined;
    const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[match[2] as '' | 'K' | 'M' | 'G'];
    return Number(match[1]) * unit;
  } catch {
    return undefined;
  }
}
