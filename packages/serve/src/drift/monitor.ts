import type { Worker } from 'node:worker_threads';
import { type Logger, startModuleWorker } from '@tfmlops/core';
import type { ReferenceStatistics } from '@tfmlops/model';
import type { DriftConfig } from './config.ts';
import { type DriftRow, driftFeatures, type LiveSample, rowThresholds } from './evaluate.ts';
import type { FromDriftWorker, ToDriftWorker } from './protocol.ts';

export interface DriftMonitorOptions {
  reference: ReferenceStatistics;
  config: DriftConfig;
  /** How often the window is re-evaluated when new samples arrived (default 10 s); 0: only on `evaluateNow`. */
  intervalMs?: number;
  /** Called with every fresh evaluation (the metrics plugin turns rows into gauges). */
  onRows?: (rows: DriftRow[]) => void;
  /** Called when an evaluation the timer started failed (the next interval tries again). */
  onError?: (error: unknown) => void;
  logger?: Logger;
}

/**
 * Keeps a rolling window of the last `windowSize` live samples and compares it with the bundle's reference in a
 * worker thread, on a timer: requests only append to the window (O(1)), never wait for a test. `rows()` answers
 * at once with the latest evaluation (or null scores and the current n while the window is still filling). The
 * worker starts with the first window worth testing (a service that never sees `minSamples` inputs never starts
 * one) and is started again if it dies.
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
  private worker: Worker | undefined;
  private closed = false;
  private readonly pending = new Map<
    number,
    { resolve: (rows: DriftRow[]) => void; reject: (error: Error) => void }
  >();

  private constructor(private readonly options: DriftMonitorOptions) {
    this.latest = this.emptyRows();
  }

  static create(options: DriftMonitorOptions): DriftMonitor {
    const monitor = new DriftMonitor(options);
    const intervalMs = options.intervalMs ?? 10_000;
    if (intervalMs > 0) {
      monitor.timer = setInterval(() => {
        if (
          monitor.received !== monitor.evaluatedAt &&
          !monitor.inFlight &&
          monitor.window.length >= options.config.minSamples
        )
          monitor.evaluateNow().catch((error: unknown) => options.onError?.(error));
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

  /** Whether a worker thread is running (it starts with the first window of `minSamples`). */
  get workerRunning(): boolean {
    return this.worker !== undefined;
  }

  /** The latest evaluation; before the first one (or while the window fills), null scores with the current n. */
  rows(): DriftRow[] {
    return this.latest.map((row) => (row.score === null ? { ...row, n: this.window.length } : row));
  }

  /** Evaluates the current window (in the worker once it holds `minSamples`) and publishes the rows. */
  evaluateNow(): Promise<DriftRow[]> {
    if (this.inFlight) return this.inFlight;
    if (this.closed) return Promise.reject(new Error('the drift monitor is closed'));
    const receivedAt = this.received;
    if (this.window.length < this.options.config.minSamples) {
      // Nothing to test yet: the rows say so, without a worker (and without an evaluation to report).
      return Promise.resolve(this.rows());
    }
    const id = ++this.requestId;
    const snapshot = this.window.slice();
    const worker = this.startedWorker();
    this.inFlight = new Promise<DriftRow[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({
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
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    const worker = this.worker;
    this.worker = undefined;
    this.failPending(new Error('the drift monitor was closed'));
    await worker?.terminate();
  }

  private startedWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = startModuleWorker(new URL('./drift-worker.ts', import.meta.url), {
      // A small young generation: the worker allocates in bursts every few seconds, and V8's default semi-spaces
      // kept ~30 MB more resident (a bare process with the built worker: ~70 MB -> ~40 MB after three evaluations).
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    worker.postMessage({
      type: 'init',
      reference: this.options.reference,
      config: this.options.config,
    } satisfies ToDriftWorker);
    worker.on('message', (message: FromDriftWorker) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.type === 'rows') waiter.resolve(message.rows);
      else waiter.reject(new Error(`drift worker: ${message.message}`));
    });
    const lost = (error: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.options.logger?.error(
        { err: error },
        'drift worker stopped; it is started again for the next evaluation',
      );
      this.failPending(error);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`drift worker exited with code ${code}`)));
    // The monitor must never keep a stopping server alive.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private failPending(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
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
