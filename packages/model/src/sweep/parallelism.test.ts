import { describe, expect, it } from 'vitest';
import { coresPerTrial, defaultParallel } from './parallelism.ts';

describe('how many trials run at once by default', () => {
  it('wasm with data-parallel auto takes every core: one trial at a time', () => {
    expect(coresPerTrial({ backend: 'wasm', dataParallelWorkers: 'auto' }, 8)).toBe(8);
    expect(defaultParallel({ backend: 'auto', dataParallelWorkers: 'auto' }, 8)).toBe(1);
  });

  it('single-threaded trials (no workers) fill the cores; two threads each halve that', () => {
    expect(defaultParallel({ backend: 'wasm', dataParallelWorkers: 0 }, 8)).toBe(8);
    expect(defaultParallel({ backend: 'wasm', threads: 2, dataParallelWorkers: 'auto' }, 8)).toBe(4);
    expect(defaultParallel({ backend: 'wasm', dataParallelWorkers: 1 }, 2)).toBe(1);
  });

  it('native TensorFlow uses all cores itself', () => {
    expect(defaultParallel({ backend: 'tensorflow', dataParallelWorkers: 0 }, 16)).toBe(1);
  });
});
