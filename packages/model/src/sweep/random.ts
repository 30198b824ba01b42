import { createHash } from 'node:crypto';

/** A seeded PRNG returning floats in [0, 1). */
export type Random = () => number;

/** mulberry32: small and fast; every random choice of a sweep comes from one, so a seed replays the sweep. */
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

/** An independent 32-bit seed from a base seed and labels (`deriveSeed(seed, 'trial', 3)`). */
export function deriveSeed(seed: number, ...parts: Array<string | number>): number {
  return createHash('sha256')
    .update(JSON.stringify([seed, ...parts]))
    .digest()
    .readUInt32LE(0);
}
