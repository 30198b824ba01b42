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

/** Load average at the start and end of a run, how many cores share it, and what other processes used. */
export interface LoadAverages {
  start: number;
  /** At the end the 1-minute average includes the benchmark's own last minute of work: reported, not judged. */
  end: number;
  cores: number;
  /**
   * Share of the machine's CPU time (0-1, all cores) that processes outside this benchmark used while it ran, from
   * /proc/stat minus the benchmark's own and its children's CPU time. Undefined where /proc is not there.
   */
  othersCpuShare?: number;
}

/** Above this share of the machine's CPU used by other processes during the run, the figures are not idle ones. */
export const IDLE_OTHERS_CPU_SHARE = 0.05;

/**
 * Busy when other processes took more than {@link IDLE_OTHERS_CPU_SHARE} of the CPU during the run: that is the
 * interference itself. The load averages are reported but not judged then: the one at start already holds the
 * benchmark's own start-up (pnpm, tsx, builds) and the one at end its last minute of work. Without CPU accounting
 * (no /proc), the load averages are all there is: above {@link IDLE_LOAD_PER_CORE} per core at either end is busy.
 */
export function isBusy({ start, end, cores, othersCpuShare }: LoadAverages): boolean {
  if (othersCpuShare === undefined) return Math.max(start, end) / cores > IDLE_LOAD_PER_CORE;
  return othersCpuShare > IDLE_OTHERS_CPU_SHARE;
}

/** `load average 0.12 at start, ...` and, when busy, a warning line to print with the table. */
export function describeLoad(load: LoadAverages): { line: string; warning?: string } {
  const others =
    load.othersCpuShare === undefined
      ? ''
      : `; other processes used ${(load.othersCpuShare * 100).toFixed(1)}% of the CPU during the run`;
  const end =
    load.othersCpuShare === undefined
      ? `${load.end.toFixed(2)} at end`
      : `${load.end.toFixed(2)} at end (this benchmark's own work included)`;
  const line = `load average ${load.start.toFixed(2)} at start, ${end} (${load.cores} cores)${others}`;
  if (!isBusy(load)) return { line };
  const why =
    load.othersCpuShare !== undefined
      ? `other processes used ${(load.othersCpuShare * 100).toFixed(1)}% of the CPU > ${IDLE_OTHERS_CPU_SHARE * 100}%`
      : `load ${(Math.max(load.start, load.end) / load.cores).toFixed(2)} per core > ${IDLE_LOAD_PER_CORE}`;
  return {
    line,
    warning: `WARNING: the machine was not idle (${why}): other work shared the cores, so these figures are low and noisy; rerun on an idle machine before quoting them.`,
  };
}

/**
 * Starts counting the CPU time other processes use: `stop()` gives their share of the machine's CPU since the start
 * (see {@link LoadAverages.othersCpuShare}). The benchmark's children must have exited (and been waited for) by then,
 * or their time counts as others'.
 */
export function startCpuAccounting(read: () => CpuTimes | undefined = readCpuTimes): {
  stop(): number | undefined;
} {
  const start = read();
  return {
    stop() {
      const end = read();
      if (!start || !end) return undefined;
      const total = end.total - start.total;
      const othersBusy = end.busy - start.busy - (end.own - start.own);
      return total > 0 ? Math.max(0, othersBusy / total) : undefined;
    },
  };
}

/** Clock ticks: the machine's busy and total time over all cores, and this process's plus its reaped children's. */
export interface CpuTimes {
  busy: number;
  total: number;
  own: number;
}

function readCpuTimes(): CpuTimes | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user and nice).
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = cpu;
    const busy = user + nice + system + irq + softirq + steal;
    // /proc/self/stat: fields after the parenthesised name; utime, stime, cutime, cstime are fields 14-17.
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    const own = fields[11]! + fields[12]! + fields[13]! + fields[14]!;
    return { busy, total: busy + idle + iowait, own };
  } catch {
    return undefined;
  }
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
