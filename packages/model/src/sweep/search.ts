import { createRandom, deriveSeed } from '@tfmlops/core';
import { canonicalJson, cumulative, gridValues, quantile, type SweepParameter } from './distributions.ts';
import { expectedImprovement, fitGaussianProcess } from './gaussian-process.ts';
import type { SweepMetric } from './sweep-file.ts';

/** Trial parameters by dotted name. */
export type TrialParams = Record<string, unknown>;

/** What a search method sees of a trial: its parameters, where it stands, and its metric values so far. */
export interface TrialObservation {
  params: TrialParams;
  /** W&B's run states: a trial early-terminated by hyperband or stopped by Ctrl-C counts as `killed`. */
  state: 'pending' | 'running' | 'finished' | 'failed' | 'killed';
  /** The sweep metric at every epoch logged so far. */
  history: readonly number[];
  /** The metric in the trial's summary.json, when it is there. */
  summary: number | undefined;
}

export interface SearchContext {
  parameters: readonly SweepParameter[];
  trials: readonly TrialObservation[];
  /** The sweep's seed: with the same seed and the same results, a search suggests the same trials. */
  seed: number;
  metric: SweepMetric | undefined;
}

/**
 * The next trial's parameters for a method, or undefined when the method has nothing left (a finished grid).
 * Every method is a pure function of the sweep so far, so a resumed sweep continues where it stopped.
 */
export function nextTrialParams(
  method: 'grid' | 'random' | 'bayes',
  context: SearchContext,
): TrialParams | undefined {
  if (method === 'grid') return nextGridPoint(context.parameters, context.trials);
  if (method === 'random')
    return randomPoint(
      context.parameters,
      createRandom(deriveSeed(context.seed, 'random', context.trials.length)),
    );
  return bayesPoint(context);
}

/** How many trials a grid has (the product of every parameter's grid), or undefined for a non-grid parameter. */
export function gridSize(parameters: readonly SweepParameter[]): number | undefined {
  let size = 1;
  for (const parameter of parameters) {
    const values = gridValues(parameter.spec);
    if (!values) return undefined;
    size *= values.length;
  }
  return size;
}

/**
 * W&B's grid order: parameters sorted by name, the last one varying fastest (`itertools.product`), skipping points
 * already tried (so a resumed or extended grid never repeats one).
 */
export function nextGridPoint(
  parameters: readonly SweepParameter[],
  trials: readonly TrialObservation[],
): TrialParams | undefined {
  const axes = parameters.map((p) => {
    const values = gridValues(p.spec);
    if (!values) throw new Error(`${p.name}: ${p.spec.distribution} has no grid`);
    return values;
  });
  if (axes.some((values) => values.length === 0)) return undefined;
  const seen = new Set(trials.map((trial) => keyOf(parameters, trial.params)));
  const odometer = axes.map(() => 0);
  for (;;) {
    const point = Object.fromEntries(parameters.map((p, i) => [p.name, axes[i]![odometer[i]!]]));
    if (!seen.has(keyOf(parameters, point))) return point;
    let digit = axes.length - 1;
    while (digit >= 0) {
      odometer[digit]! += 1;
      if (odometer[digit]! < axes[digit]!.length) break;
      odometer[digit] = 0;
      digit -= 1;
    }
    if (digit < 0) return undefined;
  }
}

/** W&B's random search: every parameter drawn independently from its distribution, in name order. */
export function randomPoint(parameters: readonly SweepParameter[], random: () => number): TrialParams {
  return Object.fromEntries(parameters.map((p) => [p.name, quantile(p.spec, random())]));
}

/** Candidate points scored by expected improvement per suggestion (W&B tries 1000). */
const BAYES_CANDIDATES = 1000;

/**
 * W&B's Bayesian search: each searchable parameter is mapped to [0, 1] through its CDF, a Gaussian process is fitted
 * to the finished trials' metric (failed and killed ones imputed, `metric.impute`: worst by default), trials still
 * running enter as "fantasies" at the model's own prediction, and the next trial is the candidate with the largest
 * expected improvement among 1000 random points. Fewer than two results: a random point.
 */
export function bayesPoint(context: SearchContext): TrialParams {
  const { parameters, trials, metric } = context;
  if (!metric) throw new Error('Bayesian search needs a metric');
  const random = createRandom(deriveSeed(context.seed, 'bayes', trials.length));
  const searchable = parameters.filter((p) => p.spec.distribution !== 'constant');
  const constants = parameters.filter((p) => p.spec.distribution === 'constant');
  const sign = metric.goal === 'maximize' ? -1 : 1;
  const toUnit = (params: TrialParams) => searchable.map((p) => cumulative(p.spec, params[p.name]));
  const finishedValues = trials
    .filter((t) => t.state === 'finished')
    .map((t) => metricExtremum(t, metric.goal))
    .filter((v): v is number => v !== undefined);
  const worst =
    finishedValues.length > 0
      ? metric.goal === 'maximize'
        ? Math.min(...finishedValues)
        : Math.max(...finishedValues)
      : 0;
  const xs: number[][] = [];
  const ys: number[] = [];
  const pending: number[][] = [];
  for (const trial of trials) {
    const x = toUnit(trial.params);
    if (x.some(Number.isNaN)) continue;
    if (trial.state === 'finished') {
      const value = metricExtremum(trial, metric.goal) ?? imputed(trial, metric, worst);
      xs.push(x);
      ys.push(sign * (Number.isFinite(value) ? value : worst));
    } else if (trial.state === 'failed' || trial.state === 'killed') {
      xs.push(x);
      ys.push(sign * imputed(trial, metric, worst));
    } else pending.push(x);
  }
  const fromUnit = (unit: readonly number[]): TrialParams => ({
    ...Object.fromEntries(constants.map((p) => [p.name, quantile(p.spec, 0)])),
    ...Object.fromEntries(searchable.map((p, i) => [p.name, quantile(p.spec, unit[i]!)])),
  });
  const randomUnit = () => searchable.map(() => random());
  if (xs.length < 2 || searchable.length === 0) return fromUnit(randomUnit());
  let gp = fitGaussianProcess(xs, ys);
  if (pending.length > 0) {
    // Kriging believer: pretend the running trials return what the model predicts, so parallel suggestions spread out.
    const fantasies = pending.map((x) => gp.predict(x).mean);
    gp = fitGaussianProcess([...xs, ...pending], [...ys, ...fantasies]);
  }
  const best = Math.min(...ys);
  let bestCandidate = randomUnit();
  let bestScore = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < BAYES_CANDIDATES; i += 1) {
    const candidate = i === 0 ? bestCandidate : randomUnit();
    const { mean, std } = gp.predict(candidate);
    const score = expectedImprovement(mean, std, best);
    if (score > bestScore) {
      bestScore = score;
      bestCandidate = candidate;
    }
  }
  return fromUnit(bestCandidate);
}

/** A trial's result as W&B reads it: the best value of the metric over its history and summary. */
export function metricExtremum(
  trial: Pick<TrialObservation, 'history' | 'summary'>,
  goal: 'minimize' | 'maximize',
): number | undefined {
  const values = [...trial.history, ...(trial.summary === undefined ? [] : [trial.summary])].filter(
    Number.isFinite,
  );
  if (values.length === 0) return undefined;
  return goal === 'maximize' ? Math.max(...values) : Math.min(...values);
}

function imputed(trial: TrialObservation, metric: SweepMetric, worst: number): number {
  if (metric.impute === 'best') return metricExtremum(trial, metric.goal) ?? 0;
  if (metric.impute === 'latest') return trial.history.filter(Number.isFinite).at(-1) ?? 0;
  return worst;
}

function keyOf(parameters: readonly SweepParameter[], params: TrialParams): string {
  return canonicalJson(parameters.map((p) => params[p.name]));
}
