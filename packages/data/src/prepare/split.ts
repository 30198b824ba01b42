import { createRandom, deriveSeed, shuffleInPlace } from '@tfmlops/core';
import type { SplitName, SplitParams } from '../format/manifest.ts';

/** What splitting needs to know about a sample. */
export interface SplitInput {
  id: string;
  label: number;
  officialSplit?: 'train' | 'test';
}

export interface SplitResult {
  /** Indices into the input, per split, in the (seeded, shuffled) order they are written to shards. */
  indices: Record<SplitName, number[]>;
  testSource: 'official' | 'carved';
}

/**
 * Deterministic stratified split. The source's official test set is kept as `test` when it has one; otherwise test
 * is carved from the pool like val. Val (and a carved test) take `round(n * fraction)` of every class, so class
 * balance is the same in each split. The result depends only on the set of (id, label) pairs and the seed — not on
 * the order the source listed them — because each class is sorted by id before its seeded shuffle.
 */
export function splitSamples(
  samples: readonly SplitInput[],
  numClasses: number,
  params: SplitParams,
  useOfficialTest: boolean,
): SplitResult {
  const byId = (a: number, b: number) => {
    const ia = (samples[a] as SplitInput).id;
    const ib = (samples[b] as SplitInput).id;
    return ia < ib ? -1 : ia > ib ? 1 : a - b;
  };
  const indices: Record<SplitName, number[]> = { train: [], val: [], test: [] };
  const pools: number[][] = Array.from({ length: numClasses }, () => []);
  samples.forEach((sample, index) => {
    if (useOfficialTest && sample.officialSplit === 'test') indices.test.push(index);
    else (pools[sample.label] as number[]).push(index);
  });
  pools.forEach((pool, label) => {
    pool.sort(byId);
    shuffleInPlace(pool, createRandom(deriveSeed(params.seed, 'split', label)));
    const nTest = useOfficialTest ? 0 : Math.round(pool.length * params.testFraction);
    const nVal = Math.min(Math.round(pool.length * params.valFraction), pool.length - nTest);
    indices.test.push(...pool.slice(0, nTest));
    indices.val.push(...pool.slice(nTest, nTest + nVal));
    indices.train.push(...pool.slice(nTest + nVal));
  });
  // Classes interleaved in the shards: streaming readers then see every class in every shard.
  for (const split of ['train', 'val', 'test'] as const) {
    indices[split].sort(byId);
    shuffleInPlace(indices[split], createRandom(deriveSeed(params.seed, 'order', split)));
  }
  return { indices, testSource: useOfficialTest ? 'official' : 'carved' };
}
