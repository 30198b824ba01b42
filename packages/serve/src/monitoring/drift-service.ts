import type { Logger } from '@tfmlops/core';
import type { DriftMonitorConfig } from '../config.ts';
import type { DriftRow, LiveSample } from '../drift/evaluate.ts';
import { DriftMonitor } from '../drift/monitor.ts';
import type { ServingModel } from '../model/types.ts';
import type { ServeMetrics } from './metrics.ts';

export interface DriftServiceOptions {
  config: DriftMonitorConfig;
  metrics: ServeMetrics;
  logger: Logger;
}

/** What GET /monitoring/drift answers. */
export interface DriftState {
  model: { name: string; version: string };
  window: { inputs: number; size: number; minSamples: number };
  /** When the rows were last computed (null before the window first held `minSamples` inputs). */
  evaluatedAt: string | null;
  rows: DriftRow[];
}

/**
 * Drift monitoring in the server: one {@link DriftMonitor} for the model being served, built from that bundle's
 * reference statistics and replaced whenever another model starts serving (inputs answered by the previous model
 * still in flight are not counted against the new reference). Evaluations run in the monitor's worker thread on
 * its timer; each one updates the drift_* gauges.
 */
export class DriftService {
  readonly #options: DriftServiceOptions;
  #monitor: DriftMonitor | undefined;
  #model: ServingModel | undefined;
  #evaluatedAt: string | null = null;

  constructor(options: DriftServiceOptions) {
    this.#options = options;
  }

  get enabled(): boolean {
    return this.#options.config.enabled;
  }

  /** Inputs in the current window (undefined when monitoring is off or no model serves yet). */
  get windowInputs(): number | undefined {
    return this.#monitor?.size;
  }

  /** Starts monitoring `model` against its own reference, dropping the previous model's window. */
  modelServing(model: ServingModel): void {
    if (!this.enabled) return;
    const { config, metrics, logger } = this.#options;
    const previous = this.#monitor;
    this.#model = model;
    this.#evaluatedAt = null;
    this.#monitor = DriftMonitor.create({
      reference: model.reference,
      config: config.settings,
      intervalMs: config.intervalMs,
      logger,
      onRows: (rows) => {
        if (this.#model !== model) return;
        this.#evaluatedAt = new Date().toISOString();
        metrics.driftEvaluations.inc({ outcome: 'ok' });
        metrics.driftRows(rows);
        const drifted = rows.filter((row) => row.drifted).map((row) => row.feature);
        if (drifted.length > 0) {
          logger.warn(
            { model: model.name, version: model.version, drifted, n: rows[0]?.n },
            'data drift: live inputs differ from the reference',
          );
        }
      },
      onError: (error) => {
        metrics.driftEvaluations.inc({ outcome: 'failed' });
        logger.error({ err: error }, 'drift evaluation failed; the next interval tries again');
      },
    });
    metrics.driftRows(this.#monitor.rows());
    previous?.close().catch(() => undefined);
  }

  /** Adds one answered input to the window, if it was answered by the model being monitored. */
  observe(model: ServingModel, sample: LiveSample): void {
    if (this.#monitor && model === this.#model) this.#monitor.observe(sample);
  }

  /** The latest rows for the model being served; undefined when monitoring is off or no model serves yet. */
  state(): DriftState | undefined {
    const monitor = this.#monitor;
    const model = this.#model;
    if (!monitor || !model) return undefined;
    const { windowSize, minSamples } = this.#options.config.settings;
    return {
      model: { name: model.name, version: model.version },
      window: { inputs: monitor.size, size: windowSize, minSamples },
      evaluatedAt: this.#evaluatedAt,
      rows: monitor.rows(),
    };
  }

  /** Tests the window now (tests and tools; the server relies on the timer). */
  async evaluateNow(): Promise<DriftState | undefined> {
    await this.#monitor?.evaluateNow();
    return this.state();
  }

  async close(): Promise<void> {
    const monitor = this.#monitor;
    this.#monitor = undefined;
    this.#model = undefined;
    await monitor?.close();
  }
}
