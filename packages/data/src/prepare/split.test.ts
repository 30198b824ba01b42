import { describe, expect, it } from 'vitest';
import { splitSamples } from './split.ts';

const params = { seed: 7, valFraction: 0.2, testFraction: 0.1 };

function pool(perClass: number[], officialTest = 0) {
  const samples: Array<{ id: string; label: number; officialSplit?: 'train' | 'test' }> = [];
  perClass.forEach((count, label) => {
    for (let i = 0; i < count; i += 1) samples.push({ id: `c${label}-${i}`, label, officialSplit: 'train' });
    for (let i = 0; i < officialTest; i += 1)
      samples.push({ id: `t${label}-${i}`, label, officialSplit: 'test' });
  });
  return samples;
}

const ids = (samples: Array<{ id: string }>, indices: number[]) => indices.map((i) => samples[i]?.id);

describe('splitSamples', () => {
  it('carves val and test per class (stratified) and covers every sample exactly once', () => {
    const samples = pool([100, 50, 10]);
    const { indices, testSource } = splitSamples(samples, 3, params, false);
    expect(testSource).toBe('carved');
    const all = [...indices.train, ...indices.val, ...indices.test].sort((a, b) => a - b);
    expect(all).toEqual(samples.map((_, i) => i));
    const perClass = (list: number[]) =>
      [0, 1, 2].map((k) => list.filter((i) => samples[i]?.label === k).length);
    expect(perClass(indices.val)).toEqual([20, 10, 2]);
    expect(perClass(indices.test)).toEqual([10, 5, 1]);
    expect(perClass(indices.train)).toEqual([70, 35, 7]);
  });

  it('is deterministic for a seed, independent of source order, and changes with the seed', () => {
    const samples = pool([40, 40]);
    const first = splitSamples(samples, 2, params, false);
    const again = splitSamples(samples, 2, params, false);
    expect(again).toEqual(first);
    const reversed = [...samples].reverse();
    const fromReversed = splitSamples(reversed, 2, params, false);
    for (const split of ['train', 'val', 'test'] as const) {
      expect(ids(reversed, fromReversed.indices[split])).toEqual(ids(samples, first.indices[split]));
    }
    const otherSeed = splitSamples(samples, 2, { ...params, seed: 8 }, false);
    expect(ids(samples, otherSeed.indices.val).sort()).not.toEqual(ids(samples, first.indices.val).sort());
  });

  it('keeps the official test split and carves val from train only', () => {
    const samples = pool([30, 30], 5);
    const { indices, testSource } = splitSamples(samples, 2, params, true);
    expect(testSource).toBe('official');
    expect(ids(samples, indices.test).every((id) => id?.startsWith('t'))).toBe(true);
    expect(indices.test).toHaveLength(10);
    expect(indices.val).toHaveLength(12);
    expect(indices.train).toHaveLength(48);
  });

  it('interleaves classes in shard order instead of writing them class by class', () => {
    const samples = pool([50, 50]);
    const { indices } = splitSamples(samples, 2, params, false);
    const firstTen = indices.train.slice(0, 10).map((i) => samples[i]?.label);
    expect(new Set(firstTen).size).toBe(2);
  });
});
