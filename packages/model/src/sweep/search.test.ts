import { createRandom } from '@tfmlops/core';
import { describe, expect, it } from 'vitest';
import { cumulative, gridValues, quantile, type SweepParameter } from './distributions.ts';
import { gridSize, nextTrialParams, randomPoint, type TrialObservation, type TrialParams } from './search.ts';
import { parseSweepConfig } from './sweep-file.ts';

function parameters(raw: Record<string, unknown>, method = 'random'): SweepParameter[] {
  return parseSweepConfig({ method, parameters: raw }).parameters;
}

function finished(params: TrialParams, value: number): TrialObservation {
  return { params, state: 'finished', history: [value], summary: undefined };
}

describe('grid search as W&B defines it', () => {
  it('walks every combination in name order, the last parameter fastest, and then ends', () => {
    const params = parameters({ b: { values: ['x', 'y'] }, a: { min: 1, max: 3 }, c: { value: 7 } }, 'grid');
    expect(gridSize(params)).toBe(6);
    const trials: TrialObservation[] = [];
    for (;;) {
      const next = nextTrialParams('grid', { parameters: params, trials, seed: 0, metric: undefined });
      if (!next) break;
      trials.push(finished(next, 0));
    }
    expect(trials.map((t) => t.params)).toEqual([
      { a: 1, b: 'x', c: 7 },
      { a: 1, b: 'y', c: 7 },
      { a: 2, b: 'x', c: 7 },
      { a: 2, b: 'y', c: 7 },
      { a: 3, b: 'x', c: 7 },
      { a: 3, b: 'y', c: 7 },
    ]);
  });

  it('skips points already tried (a resumed grid never repeats one) and takes duplicated values once', () => {
    const params = parameters({ a: { values: [1, 2, 2, 3] } }, 'grid');
    const next = nextTrialParams('grid', {
      parameters: params,
      trials: [finished({ a: 1 }, 0)],
      seed: 0,
      metric: undefined,
    });
    expect(next).toEqual({ a: 2 });
    expect(gridSize(params)).toBe(3);
  });

  it('q_uniform is NumPy arange (max excluded), int_uniform includes both ends; continuous ones have no grid', () => {
    const [q, i, u] = parameters({
      q: { distribution: 'q_uniform', min: 0, max: 1, q: 0.25 },
      r: { min: 2, max: 4 },
      s: { min: 0.0, max: 1.5 },
    });
    expect(gridValues(q!.spec)).toEqual([0, 0.25, 0.5, 0.75]);
    expect(gridValues(i!.spec)).toEqual([2, 3, 4]);
    expect(gridValues(u!.spec)).toBeUndefined();
  });
});

describe('random search draws each distribution', () => {
  const random = createRandom(1);
  const draws = (spec: Record<string, unknown>, n = 4000) => {
    const [parameter] = parameters({ p: spec });
    return Array.from({ length: n }, () => randomPoint([parameter!], random).p as number);
  };
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

  it('int_uniform: every integer of [min, max], about equally often', () => {
    const xs = draws({ min: 1, max: 4 });
    for (const v of [1, 2, 3, 4]) expect(xs.filter((x) => x === v).length / xs.length).toBeCloseTo(0.25, 1);
    expect(new Set(xs)).toEqual(new Set([1, 2, 3, 4]));
  });

  it('uniform and log_uniform_values stay in bounds; the log one has its median at the geometric mean', () => {
    const u = draws({ distribution: 'uniform', min: 2, max: 4 });
    expect(Math.min(...u)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...u)).toBeLessThanOrEqual(4);
    expect(mean(u)).toBeCloseTo(3, 1);
    const l = draws({ distribution: 'log_uniform_values', min: 0.0001, max: 0.1 }).sort((a, b) => a - b);
    expect(l[0]).toBeGreaterThanOrEqual(0.0001);
    expect(l.at(-1)).toBeLessThanOrEqual(0.1);
    expect(Math.log10(l[l.length / 2]!)).toBeCloseTo(-2.5, 1);
  });

  it('q_uniform lands on multiples of q (integers for an integer q); normal has its mean and spread', () => {
    const q = draws({ distribution: 'q_uniform', min: 32, max: 128, q: 32 });
    expect(new Set(q)).toEqual(new Set([32, 64, 96, 128]));
    const n = draws({ distribution: 'normal', mu: 10, sigma: 2 });
    expect(mean(n)).toBeCloseTo(10, 0);
    expect(Math.sqrt(mean(n.map((x) => (x - 10) ** 2)))).toBeCloseTo(2, 0);
  });

  it('categorical values uniformly, or by their probabilities', () => {
    const plain = draws({ values: ['a', 'b'] }) as unknown as string[];
    expect(plain.filter((x) => x === 'a').length / plain.length).toBeCloseTo(0.5, 1);
    const weighted = draws({
      values: ['a', 'b', 'c'],
      probabilities: [0.1, 0.2, 0.7],
    }) as unknown as string[];
    expect(weighted.filter((x) => x === 'c').length / weighted.length).toBeCloseTo(0.7, 1);
  });

  it('the same seed and trial number give the same point; the next trial another', () => {
    const params = parameters({
      lr: { distribution: 'log_uniform_values', min: 0.0001, max: 0.1 },
      b: { values: [32, 64] },
    });
    const at = (trials: TrialObservation[], seed: number) =>
      nextTrialParams('random', { parameters: params, trials, seed, metric: undefined });
    expect(at([], 7)).toEqual(at([], 7));
    expect(at([], 7)).not.toEqual(at([finished({ lr: 0.01, b: 32 }, 0)], 7));
    expect(at([], 7)).not.toEqual(at([], 8));
  });

  it('quantile and CDF invert each other, which is what Bayesian search relies on', () => {
    for (const spec of [
      { min: 0.5, max: 3.0 },
      { distribution: 'log_uniform_values', min: 0.001, max: 1 },
      { distribution: 'inv_log_uniform_values', min: 0.001, max: 1 },
      { distribution: 'normal', mu: 1, sigma: 3 },
      { distribution: 'log_normal', mu: 0, sigma: 1 },
    ]) {
      const [p] = parameters({ p: spec });
      for (const u of [0.1, 0.5, 0.9]) expect(cumulative(p!.spec, quantile(p!.spec, u))).toBeCloseTo(u, 6);
    }
    const [c] = parameters({ c: { values: ['a', 'b', 'c', 'd'] } });
    for (const value of ['a', 'b', 'c', 'd'])
      expect(quantile(c!.spec, cumulative(c!.spec, value))).toBe(value);
  });
});

/**
 * A synthetic validation accuracy over (learning-rate exponent, width) in [0, 1]^2: one broad optimum between grid
 * lines, a weaker second bump, and a floor. Deterministic and instant, so the comparison runs in a unit test.
 */
function objective(x: number, y: number): number {
  const main = Math.exp(-((x - 0.63) ** 2 / 0.03 + (y - 0.27) ** 2 / 0.05));
  const second = 0.6 * Math.exp(-((x - 0.15) ** 2 / 0.01 + (y - 0.85) ** 2 / 0.01));
  return 0.5 + 0.45 * Math.max(main, second);
}

describe('Bayesian search', () => {
  const grid = parameters(
    {
      x: { values: Array.from({ length: 11 }, (_, i) => i / 10) },
      y: { values: Array.from({ length: 11 }, (_, i) => i / 10) },
    },
    'grid',
  );
  const space = parameters(
    { x: { distribution: 'uniform', min: 0, max: 1 }, y: { distribution: 'uniform', min: 0, max: 1 } },
    'bayes',
  );
  const metric = {
    name: 'val_accuracy',
    goal: 'maximize' as const,
    impute: 'worst' as const,
    impute_while_running: 'false' as const,
  };

  function runSearch(method: 'grid' | 'bayes', budget: number, seed: number): TrialObservation[] {
    const trials: TrialObservation[] = [];
    for (let i = 0; i < budget; i += 1) {
      const params = nextTrialParams(method, {
        parameters: method === 'grid' ? grid : space,
        trials,
        seed,
        metric,
      });
      if (!params) break;
      trials.push(finished(params, objective(params.x as number, params.y as number)));
    }
    return trials;
  }

  it("reaches the 11x11 grid's best validation accuracy in far fewer trials, the same way every time with a seed", () => {
    const gridTrials = runSearch('grid', 1000, 0);
    expect(gridTrials).toHaveLength(121);
    const gridBest = Math.max(...gridTrials.map((t) => t.history[0]!));
    const bayes = runSearch('bayes', 20, 3);
    const reachedAt = bayes.findIndex((t) => t.history[0]! >= gridBest);
    // eslint-disable-next-line no-console
    console.log(
      `grid best ${gridBest.toFixed(4)} after 121 trials; bayes reached it at trial ${reachedAt + 1}`,
    );
    expect(reachedAt).toBeGreaterThanOrEqual(0);
    expect(reachedAt + 1).toBeLessThan(20);
    // Deterministic: the same seed replays the same suggestions.
    expect(runSearch('bayes', 12, 3).map((t) => t.params)).toEqual(bayes.slice(0, 12).map((t) => t.params));
  });

  it('starts at random points until two results exist, then follows the model', () => {
    const first = nextTrialParams('bayes', { parameters: space, trials: [], seed: 5, metric });
    expect(first).toBeDefined();
    const trials = [finished({ x: 0.1, y: 0.1 }, 0.5), finished({ x: 0.6, y: 0.3 }, 0.9)];
    const next = nextTrialParams('bayes', { parameters: space, trials, seed: 5, metric })!;
    // Expected improvement favours the neighbourhood of the better result over the worse one.
    const distance = (a: TrialParams, x: number, y: number) =>
      Math.hypot((a.x as number) - x, (a.y as number) - y);
    expect(distance(next, 0.6, 0.3)).toBeLessThan(distance(next, 0.1, 0.1));
  });

  it('spreads parallel suggestions: a running trial is a fantasy at its predicted value, not a blank', () => {
    const done = [
      finished({ x: 0.2, y: 0.2 }, 0.6),
      finished({ x: 0.6, y: 0.3 }, 0.9),
      finished({ x: 0.9, y: 0.9 }, 0.5),
    ];
    const alone = nextTrialParams('bayes', { parameters: space, trials: done, seed: 9, metric })!;
    const running: TrialObservation = { params: alone, state: 'running', history: [], summary: undefined };
    const beside = nextTrialParams('bayes', {
      parameters: space,
      trials: [...done, running],
      seed: 9,
      metric,
    })!;
    expect(beside).not.toEqual(alone);
  });
});
