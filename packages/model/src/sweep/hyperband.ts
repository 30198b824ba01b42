import type { HyperbandConfig } from './sweep-file.ts';

/**
 * The epochs at which hyperband may stop a trial (W&B's "bands"), computed as wandb/sweeps hyperband_stopping.py
 * does: from `min_iter` upwards (min_iter, min_iter*eta, ...), or from `max_iter` downwards (`s` times divided by eta,
 * truncated, while >= 1).
 */
export function hyperbandBands(config: HyperbandConfig, count = 100): number[] {
  const bands: number[] = [];
  if (config.max_iter !== undefined && config.s !== undefined) {
    let band = config.max_iter;
    for (let i = 0; i < config.s; i += 1) {
      band /= config.eta;
      if (band < 1) break;
      bands.push(Math.trunc(band));
    }
    return bands.sort((a, b) => a - b);
  }
  let band = config.min_iter ?? 1;
  for (let i = 0; i < count; i += 1) {
    bands.push(Math.trunc(band));
    band *= config.eta;
  }
  return bands;
}

export interface HyperbandRun {
  /** Only running trials are stopped; every trial's history sets the thresholds. */
  running: boolean;
  /** The sweep metric at each epoch so far. */
  history: readonly number[];
}

export interface HyperbandDecision {
  /** Indices (into the runs given) of the trials to stop now. */
  stop: number[];
  bands: number[];
  /** The threshold at each band (minimisation units: a maximised metric is negated). */
  thresholds: number[];
}

/**
 * W&B's hyperband stopping rule. At each band b, the threshold is the value at rank floor(len/eta) of the sorted
 * metric values at epoch b of every trial that got that far (the top 1/eta survive). A running trial is stopped
 * when, at the last band it has passed, its value at that band (`strict`, W&B's default) or its best value so far
 * (`strict: false`) is worse than the threshold.
 */
export function hyperbandToStop(
  runs: readonly HyperbandRun[],
  config: HyperbandConfig,
  goal: 'minimize' | 'maximize',
): HyperbandDecision {
  const bands = hyperbandBands(config);
  const rate = 1 / config.eta;
  const oriented = runs.map((run) =>
    run.history.filter(Number.isFinite).map((value) => (goal === 'maximize' ? -value : value)),
  );
  const thresholds = bands.map((band) => {
    const values = oriented.filter((h) => h.length >= band).map((h) => h[band - 1]!);
    if (values.length === 0) return Number.POSITIVE_INFINITY;
    values.sort((a, b) => a - b);
    return values[Math.floor(rate * values.length)]!;
  });
  const stop: number[] = [];
  runs.forEach((run, index) => {
    if (!run.running) return;
    const history = oriented[index]!;
    let closest = -1;
    for (const [i, band] of bands.entries()) {
      if (band <= history.length) closest = i;
      else break;
    }
    if (closest < 0) return;
    const band = bands[closest]!;
    const value = config.strict ? history[band - 1]! : Math.min(...history);
    if (value > thresholds[closest]!) stop.push(index);
  });
  return { stop, bands, thresholds };
}
