import { createHash } from 'node:crypto';

/** A seeded PRNG returning floats in [0, 1). */
export type Random = () => number;

/**
 * mulberry32: tiny, fast and good enough for shuffling, augmentation and sampling. Every random choice in the product
 * (splits, shard order, batches, augmentation, sweep trials, reference samples) comes from one of these, so the same
 * seed always gives the same result.
 */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Derives an independent 32-bit seed from a base seed and labels (e.g. `deriveSeed(42, 'split', 'class', 3)`). */
export function deriveSeed(seed: number, ...parts: Array<string | number>): number {
  return createHash('sha256')
    .update(JSON.stringify([seed, ...parts]))
    .digest()
    .readUInt32LE(0);
}

/** Fisher-Yates shuffle, in place. */
export function shuffleInPlace<T>(items: T[] | Uint32Array, random: Random): void {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
}
