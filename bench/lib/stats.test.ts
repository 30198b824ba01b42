import { describe, expect, it } from 'vitest';
import { bestBy, percentile, speedRatio, summarize, verdict } from './stats.ts';

describe('summarize', () => {
  it('gives the middle value of an odd count, with min and max', () => {
    expect(summarize([1900, 1754, 1958, 1800, 1850])).toEqual({ median: 1850, min: 1754, max: 1958, n: 5 });
  });
  it('averages the middle two of an even count', () => {
    expect(summarize([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4, n: 4 });
  });
  it('refuses no values and non-finite ones', () => {
    expect(() => summarize([])).toThrow(/at least one/);
    expect(() => summarize([1, Number.NaN])).toThrow(/finite/);
  });
});

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
  it('p50 and p99 of 1..100 are 50 and 99', () => {
    expect(percentile(hundred, 0.5)).toBe(50);
    expect(percentile(hundred, 0.99)).toBe(99);
  });
  it('p99 of 300 samples is the third largest', () => {
    const values = Array.from({ length: 300 }, (_, i) => i);
    expect(percentile(values, 0.99)).toBe(296);
  });
  it('refuses p outside (0, 1]', () => {
    expect(() => percentile([1], 0)).toThrow(/\(0, 1\]/);
  });
});

describe('verdict from ranges', () => {
  const range = (min: number, max: number, n = 5) => ({ median: (min + max) / 2, min, max, n });
  it('is a tie when the ranges overlap, whatever the medians (issue 8: 1802-1868 against 1754-1958)', () => {
    expect(verdict(range(1802, 1868), range(1754, 1958), 'higher')).toBe('tie');
  });
  it('is faster or slower only when the ranges are apart', () => {
    expect(verdict(range(2000, 2100), range(1754, 1958), 'higher')).toBe('faster');
    expect(verdict(range(1364, 1393), range(1866, 1948), 'higher')).toBe('slower');
  });
  it('reads lower-is-better figures (latency) the other way', () => {
    expect(verdict(range(0.3, 0.4), range(1.0, 1.2), 'lower')).toBe('faster');
    expect(verdict(range(1.0, 1.2), range(0.3, 0.4), 'lower')).toBe('slower');
    expect(verdict(range(0.3, 1.0), range(0.9, 1.2), 'lower')).toBe('tie');
  });
  it('touching ranges are a tie', () => {
    expect(verdict(range(10, 20), range(5, 10), 'higher')).toBe('tie');
  });
  it('never calls it from a single round a side', () => {
    expect(verdict(range(100, 100, 1), range(1, 1, 1), 'higher')).toBe('tie');
  });
});

describe('speedRatio and bestBy', () => {
  it('speedRatio is > 1 when ours is better in either direction', () => {
    const [a, b] = [summarize([2]), summarize([1])];
    expect(speedRatio(a, b, 'higher')).toBe(2);
    expect(speedRatio(b, a, 'lower')).toBe(2);
  });
  it('bestBy picks the best median and skips entries without the figure', () => {
    const entries = [
      { id: 'a', v: [1, 2, 3] },
      { id: 'b', v: [] as number[] },
      { id: 'c', v: [2, 3, 4] },
    ];
    const figure = (e: (typeof entries)[number]) => (e.v.length ? summarize(e.v) : undefined);
    expect(bestBy(entries, figure, 'higher')?.id).toBe('c');
    expect(bestBy(entries, figure, 'lower')?.id).toBe('a');
    expect(bestBy([], figure, 'higher')).toBeUndefined();
  });
});
