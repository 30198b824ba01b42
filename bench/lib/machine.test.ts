import { describe, expect, it } from 'vitest';
import { describeLoad, isBusy } from './machine.ts';

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
});
