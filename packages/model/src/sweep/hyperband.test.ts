import { describe, expect, it } from 'vitest';
import { hyperbandBands, hyperbandToStop } from './hyperband.ts';
import type { HyperbandConfig } from './sweep-file.ts';

const config = (c: Partial<HyperbandConfig>): HyperbandConfig => ({
  type: 'hyperband',
  eta: 3,
  strict: true,
  ...c,
});
const losses = (...values: number[]) => values;

// The cases of wandb/sweeps tests/test_hyperband_stopping.py and the docstring of hyperband_stop_runs.
describe("hyperband stopping as W&B's controller decides it", () => {
  it('min_iter 3, eta 3: bands 3, 9, 27; a flat loss is stopped at band 3 against a falling one', () => {
    const runs = [
      { running: true, history: losses(10, 10, 10, 10) },
      { running: true, history: Array.from({ length: 10 }, (_, i) => 10 - i) },
    ];
    const decision = hyperbandToStop(runs, config({ min_iter: 3 }), 'minimize');
    expect(decision.bands.slice(0, 3)).toEqual([3, 9, 27]);
    expect(decision.stop).toEqual([0]);
  });

  it('a maximised metric is compared the other way', () => {
    const runs = [
      { running: true, history: [10, 10, 10, 10] },
      { running: true, history: Array.from({ length: 10 }, (_, i) => 10 + i) },
    ];
    expect(hyperbandToStop(runs, config({ min_iter: 3 }), 'maximize').stop).toEqual([0]);
  });

  it('max_iter 81, s 3 gives bands 3, 9, 27; max_iter 18, s 2 gives 2, 6', () => {
    expect(hyperbandBands(config({ max_iter: 81, s: 3 }))).toEqual([3, 9, 27]);
    expect(hyperbandBands(config({ max_iter: 18, s: 2 }))).toEqual([2, 6]);
  });

  it('a single run is never stopped (it is its own threshold)', () => {
    const runs = [{ running: true, history: Array.from({ length: 10 }, (_, i) => 10 - i) }];
    expect(hyperbandToStop(runs, config({ max_iter: 18, s: 2, strict: false }), 'minimize').stop).toEqual([]);
  });

  // Its comment says c is stopped too; the code (strict by default since wandb/sweeps#108) keeps c, which sits exactly
  // at the band-2 threshold (8): the rule stops only values worse than the threshold.
  it('the docstring runs: max_iter 5, eta 2, s 2 (bands 1, 2) stop b; finished runs set thresholds but are not stopped', () => {
    const runs = [
      { running: false, history: [10, 9] },
      { running: true, history: [10, 10] },
      { running: true, history: [10, 8, 8] },
      { running: true, history: [10, 7, 7] },
      { running: false, history: [10, 6, 6] },
    ];
    const decision = hyperbandToStop(runs, config({ max_iter: 5, eta: 2, s: 2 }), 'minimize');
    expect(decision.bands).toEqual([1, 2]);
    expect(decision.thresholds).toEqual([10, 8]);
    expect(decision.stop).toEqual([1]);
  });

  it('strict (the default) judges the value at the band; strict: false the best value so far', () => {
    const runs = [
      { running: true, history: [5, 9, 9] },
      { running: false, history: [8, 8, 8] },
      { running: false, history: [7, 7, 7] },
    ];
    expect(hyperbandToStop(runs, config({ min_iter: 2 }), 'minimize').stop).toEqual([0]);
    expect(hyperbandToStop(runs, config({ min_iter: 2, strict: false }), 'minimize').stop).toEqual([]);
  });

  it('a trial that has not reached the first band is left alone', () => {
    const runs = [
      { running: true, history: [100] },
      { running: false, history: [1, 1, 1] },
    ];
    expect(hyperbandToStop(runs, config({ min_iter: 2 }), 'minimize').stop).toEqual([]);
  });
});
