import type { Worker } from 'node:worker_threads';
import { type Logger, startModuleWorker } from '@tfmlops/core';
import type { ReferenceStatistics } from '@tfmlops/model';
import {
  type DriftConfig,
  type DriftRow,
  driftFeatures,
  type LiveSample,
  rowThresholds,
} from './evaluate.ts';
import type { FromDriftWorker, ToDriftWorker } from './protocol.ts';

export interface DriftMonitorOptions {
  reference: ReferenceStatistics;
  config: DriftConfig;
  /** How often the window is re-evaluated when new samples arrived (default 10 s); 0: only on `evaluateNow`. */
  intervalMs?: number;
  /** Called with every fresh evaluation (the metrics plugin turns rows into gauges). */
  onRows?: (rows: DriftRow[]) => void;
  logger?: Logger;
}

/**
 * Keeps a rolling window of the last `windowSize` live samples and compares it with the bundle's reference in a
 * worker thread, on a timer: requests only append to the window (O(1)), never wait for a test. `rows()` answers
 * at once with the latest evaluation (or null scores and the current n while the window is still filling).
 */
export class DriftMonitor {
  private readonly window: LiveSample[] = [];
  private next = 0;
  private received = 0;
  private evaluatedAt = -1;
  private latest: DriftRow[];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<DriftRow[]> | undefined;
  private requestId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (rows: DriftRow[]) => void; reject: (error: Error) => void }
  >();

  private constructor(
    private readonly options: DriftMonitorOptions,
    private readonly worker: Worker,
  ) {
    this.latest = this.emptyRows();
    worker.on('message', (message: FromDriftWorker) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.type === 'rows') waiter.resolve(message.rows);
      else waiter.reject(new Error(`drift worker: ${message.message}`));
    });
    worker.on('error', (error) => {
      options.logger?.error({ err: error }, 'drift worker crashed; drift scores stop updating');
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    });
    // The monitor must never keep a stopping server alive.
    worker.unref();
  }

  static create(options: DriftMonitorOptions): DriftMonitor {
    const worker = startModuleWorker(new URL('./drift-worker.ts', import.meta.url));
    worker.postMessage({
      type: 'init',
      reference: options.reference,
      config: options.config,
    } satisfies ToDriftWorker);
    const monitor = new DriftMonitor(options, worker);
    const intervalMs = options.intervalMs ?? 10_000;
    if (intervalMs > 0) {
      monitor.timer = setInterval(() => {
        if (monitor.received !== monitor.evaluatedAt && !monitor.inFlight)
          monitor.evaluateNow().catch(() => undefined);
      }, intervalMs);
      monitor.timer.unref();
    }
    return monitor;
  }

  /** Adds one live input to the window (dropping the oldest once full). */
  observe(sample: LiveSample): void {
    const size = this.options.config.windowSize;
    if (this.window.length < size) this.window.push(sample);
    else this.window[this.next] = sample;
    this.next = (this.next + 1) % size;
    this.received += 1;
  }

  /** Samples in the window now. */
  get size(): number {
    return this.window.length;
  }

  /** The latest evaluation; before the first one (or while the window fills), null scores with the current n. */
  rows(): DriftRow[] {
    return this.latest.map((row) => (row.score === null ? { ...row, n: this.window.length } : row));
  }

  /** Evaluates the current window in the worker and publishes the rows. */
  evaluateNow(): Promise<DriftRow[]> {
    if (this.inFlight) return this.inFlight;
    const id = ++this.requestId;
    const receivedAt = this.received;
    const snapshot = this.window.slice();
    this.inFlight = new Promise<DriftRow[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({
        type: 'evaluate',
        id,
        window: snapshot,
        seed: receivedAt,
      } satisfies ToDriftWorker);
    })
      .then((rows) => {
        this.latest = rows;
        this.evaluatedAt = receivedAt;
        this.options.onRows?.(rows);
        return rows;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.worker.terminate();
  }

  private emptyRows(): DriftRow[] {
    const features = driftFeatures(this.options.reference);
    const thresholds = rowThresholds(this.options.config, features.length);
    return features.map(({ feature, test }) => ({
      feature,
      test,
      score: null,
      statistic: null,
      threshold: thresholds[test],
      drifted: false,
      n: 0,
    }));
  }
}
