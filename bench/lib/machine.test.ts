import { describe, expect, it } from 'vitest';
import { describeLoad, isBusy, startCpuAccounting } from './machine.ts';

describe('load average', () => {
  it('is idle at or below 0.3 per core at both ends', () => {
    expect(isBusy({ start: 0.6, end: 0.2, cores: 2 })).toBe(false);
    expect(describeLoad({ start: 0.12, end: 0.2, cores: 2 })).toEqual({
      line: 'load average 0.12 at start, 0.20 at end (2 cores)',
    });
  });
  it('warns when either end is above 0.3 per core (issue 8: 1.36 on 2 cores)', () => {
    expect(isBusy({ start: 1.36, end: 0.1, cores: 2 })).toBe(true);
    expect(isBusy({ start: 0.1, end: 0.61, cores: 2 })).toBe(true);
    expect(describeLoad({ start: 1.36, end: 1.2, cores: 2 }).warning).toMatch(
      /not idle \(load 0\.68 per core > 0\.3\)/,
    );
  });
  it('with CPU accounting, judges what other processes used during the run, not the load averages (its own work)', () => {
    expect(isBusy({ start: 0.8, end: 1.9, cores: 2, othersCpuShare: 0.01 })).toBe(false);
    expect(isBusy({ start: 0.2, end: 1.9, cores: 2, othersCpuShare: 0.2 })).toBe(true);
    const busy = describeLoad({ start: 0.2, end: 1.9, cores: 2, othersCpuShare: 0.2 });
    expect(busy.line).toBe(
      "load average 0.20 at start, 1.90 at end (this benchmark's own work included) (2 cores); other processes used 20.0% of the CPU during the run",
    );
    expect(busy.warning).toMatch(/other processes used 20\.0% of the CPU > 5%/);
  });

  it("counts as others only the busy time that is not the benchmark's own or its children's", () => {
    const readings = [
      { busy: 1_000, total: 10_000, own: 100 },
      // 2 cores x 10 s = 2,000 ticks; 1,500 busy, of which 1,400 the benchmark's: 100 ticks (5%) someone else's.
      { busy: 2_500, total: 12_000, own: 1_500 },
    ];
    expect(startCpuAccounting(() => readings.shift()).stop()).toBeCloseTo(0.05);
    expect(startCpuAccounting(() => undefined).stop()).toBeUndefined();
  });

  it('reads this machine when it has /proc, and the share stays within [0, 1]', () => {
    const share = startCpuAccounting().stop();
    if (share !== undefined) expect(share).toBeGreaterThanOrEqual(0);
    if (share !== undefined) expect(share).toBeLessThanOrEqual(1);
  });
});
