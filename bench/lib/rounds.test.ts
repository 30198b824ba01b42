import { describe, expect, it } from 'vitest';
import { type Contender, runRounds, turnOrder } from './rounds.ts';

describe('turnOrder', () => {
  it('rotates the start by one each round', () => {
    expect(turnOrder(['a', 'b', 'c'], 0)).toEqual(['a', 'b', 'c']);
    expect(turnOrder(['a', 'b', 'c'], 1)).toEqual(['b', 'c', 'a']);
    expect(turnOrder(['a', 'b', 'c'], 4)).toEqual(['b', 'c', 'a']);
    expect(turnOrder([], 3)).toEqual([]);
  });
});

describe('runRounds', () => {
  it('gives every contender one turn per round, interleaved, and asks an unavailable one only once', async () => {
    const calls: string[] = [];
    const contender = (id: string, unavailable = false): Contender<number> => ({
      id,
      measure: () => {
        calls.push(id);
        return unavailable ? { unavailable: `${id} is missing` } : { sample: calls.length };
      },
    });
    const result = await runRounds([contender('ours'), contender('torch'), contender('gpu', true)], 3);
    expect(calls).toEqual(['ours', 'torch', 'gpu', 'torch', 'ours', 'ours', 'torch']);
    expect(result.order).toEqual([
      ['ours', 'torch', 'gpu'],
      ['torch', 'ours'],
      ['ours', 'torch'],
    ]);
    expect(result.samples.get('ours')).toEqual([1, 5, 6]);
    expect(result.samples.get('torch')).toEqual([2, 4, 7]);
    expect(result.unavailable.get('gpu')).toBe('gpu is missing');
  });
  it('refuses fewer than one round', async () => {
    await expect(runRounds([], 0)).rejects.toThrow(/rounds must be >= 1/);
  });
});
