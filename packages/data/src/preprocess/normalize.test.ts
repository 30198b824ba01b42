import { describe, expect, it } from 'vitest';
import { normalizationTable, normalizePixels } from './normalize.ts';

describe('normalizePixels', () => {
  it('applies (v/255 - mean[c]) / std[c] per interleaved channel; std 0 divides by 1', () => {
    const table = normalizationTable({ mean: [0.5, 0, 0.2], std: [0.25, 0, 1] }, 3);
    const out = new Float32Array(8).fill(-9);
    normalizePixels(new Uint8Array([255, 51, 0, 0, 255, 255]), table, 3, out, { to: 1 });
    expect(Array.from(out)).toEqual([-9, 2, 0.2, -0.2, -2, 1, 0.8, -9].map((v) => Math.fround(v)));
  });

  it('reads a window of a larger buffer for one-channel images', () => {
    const table = normalizationTable({ mean: [0], std: [1] }, 1);
    const out = new Float32Array(2);
    normalizePixels(new Uint8Array([1, 2, 255, 0]), table, 1, out, { from: 2, count: 2 });
    expect(Array.from(out)).toEqual([1, 0]);
  });
});
