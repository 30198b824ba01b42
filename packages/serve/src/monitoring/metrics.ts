import * as tf from '@tensorflow/tfjs-core';
import { Counter, collectDefaultMetrics, Gauge, Histogram, linearBuckets, Registry } from 'prom-client';
import type { DriftRow } from '../drift/evaluate.ts';
import type { ServingModel } from '../model/types.ts';
import type { PredictionLogStats } from '../prediction-log/prediction-logger.ts';

/** Latency buckets in seconds: sub-millisecond inference up to slow uploads. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface MetricsSources {
  /** Images admitted and not yet answered (decoding or waiting for the network). */
  queueDepth(): number;
  /** The prediction logger's counters, when logging is on. */
  predictionLog?(): PredictionLogStats | undefined;
  /** Inputs in the drift monitor's window, when monitoring is on. */
  driftWindow?(): number | undefined;
}

type DriftLabels = 'feature' | 'test';

/**
 * Every Prometheus metric of the service, in a registry of its own (so two apps in one process, as in tests, never
 * share counters). Gauges that describe state (tensors, memory, queue) are read when /metrics is scraped.
 */
export class ServeMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly requestDuration: Histogram<'method' | 'route' | 'status'>;
  readonly modelLoadSeconds: Gauge;
  readonly batchSize: Histogram;
  readonly inferenceSeconds: Histogram;
  readonly predictions: Counter<'label'>;
  readonly confidence: Histogram;
  readonly rejected: Counter<'code'>;
  readonly reloads: Counter<'trigger'>;
  readonly reloadFailures: Counter<'trigger'>;
  readonly modelInfo: Gauge<'name' | 'version' | 'backend' | 'sha256'>;
  readonly driftScore: Gauge<DriftLabels>;
  readonly driftStatistic: Gauge<DriftLabels>;
  readonly driftThreshold: Gauge<DriftLabels>;
  readonly driftDetected: Gauge<DriftLabels>;
  readonly driftEvaluations: Counter<'outcome'>;

  constructor(sources: MetricsSources, options: { maxBatch: number }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by route template and status code',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from receiving a request to sending its response',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.modelLoadSeconds = new Gauge({
      name: 'model_load_seconds',
      help: 'Seconds the current model took to download, verify, build and warm up',
      registers,
    });
    this.batchSize = new Histogram({
      name: 'inference_batch_size',
      help: 'Images per network run (micro-batching)',
      buckets: batchBuckets(options.maxBatch),
      registers,
    });
    this.inferenceSeconds = new Histogram({
      name: 'inference_batch_duration_seconds',
      help: 'Time the network takes for one micro-batch',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    new Gauge({
      name: 'inference_queue_depth',
      help: 'Images admitted and not yet answered (decoding or waiting for the network)',
      registers,
      collect() {
        this.set(sources.queueDepth());
      },
    });
    new Gauge({
      name: 'tfjs_tensors',
      help: 'Live TF.js tensors (flat under load when nothing leaks)',
      registers,
      collect() {
        this.set(tf.memory().numTensors);
      },
    });
    new Gauge({
      name: 'tfjs_memory_bytes',
      help: 'TF.js memory: bytes held by live tensors, and the wasm heap size on the wasm backend',
      labelNames: ['kind'],
      registers,
      collect() {
        this.set({ kind: 'tensors' }, tf.memory().numBytes);
        const heap = wasmHeapBytes();
        if (heap !== undefined) this.set({ kind: 'wasm_heap' }, heap);
      },
    });
    this.predictions = new Counter({
      name: 'predictions_total',
      help: 'Images classified, by top-1 label',
      labelNames: ['label'],
      registers,
    });
    this.confidence = new Histogram({
      name: 'prediction_confidence',
      help: 'Top-1 probability of each classified image',
      buckets: linearBuckets(0.1, 0.1, 9),
      registers,
    });
    this.rejected = new Counter({
      name: 'prediction_rejected_total',
      help: 'Prediction requests refused, by error code (bad images, overload, timeouts)',
      labelNames: ['code'],
      registers,
    });
    this.reloads = new Counter({
      name: 'model_reloads_total',
      help: 'Models swapped in after start, by trigger (admin, poll)',
      labelNames: ['trigger'],
      registers,
    });
    this.reloadFailures = new Counter({
      name: 'model_reload_failures_total',
      help: 'Reloads that failed (the previous model kept serving), by trigger (admin, poll)',
      labelNames: ['trigger'],
      registers,
    });
    this.modelInfo = new Gauge({
      name: 'model_info',
      help: 'The model being served (value 1)',
      labelNames: ['name', 'version', 'backend', 'sha256'],
      registers,
    });
    this.driftScore = new Gauge({
      name: 'drift_score',
      help: "p-value of each feature's drift test, live window vs the bundle's reference (absent until the window holds DRIFT_MIN_SAMPLES inputs)",
      labelNames: ['feature', 'test'],
      registers,
    });
    this.driftStatistic = new Gauge({
      name: 'drift_statistic',
      help: 'The statistic behind drift_score: KS D, chi-square, or MMD squared',
      labelNames: ['feature', 'test'],
      registers,
    });
    this.driftThreshold = new Gauge({
      name: 'drift_threshold',
      help: 'drift_detected is 1 when drift_score falls below this (the configured level, Bonferroni-corrected)',
      labelNames: ['feature', 'test'],
      registers,
    });
    this.driftDetected = new Gauge({
      name: 'drift_detected',
      help: 'Whether the last drift test of the feature found drift (1) or not (0)',
      labelNames: ['feature', 'test'],
      registers,
    });
    this.driftEvaluations = new Counter({
      name: 'drift_evaluations_total',
      help: 'Drift tests of the live window, by outcome (ok, failed)',
      labelNames: ['outcome'],
      registers,
    });
    new Gauge({
      name: 'drift_window_inputs',
      help: "Live inputs in the drift monitor's window",
      registers,
      collect() {
        const size = sources.driftWindow?.();
        if (size !== undefined) this.set(size);
      },
    });
    const logStats = () => sources.predictionLog?.();
    const seen = { written: 0, dropped: 0, failedWrites: 0 };
    new Counter({
      name: 'prediction_log_records_total',
      help: 'Prediction log records, by outcome: written to storage, or dropped (buffer full)',
      labelNames: ['outcome'],
      registers,
      collect() {
        const stats = logStats();
        if (!stats) return;
        // The logger keeps the totals; the counter catches up with them at every scrape.
        this.inc({ outcome: 'written' }, stats.written - seen.written);
        this.inc({ outcome: 'dropped' }, stats.dropped - seen.dropped);
        seen.written = stats.written;
        seen.dropped = stats.dropped;
      },
    });
    new Counter({
      name: 'prediction_log_write_failures_total',
      help: 'Batch writes of the prediction log that failed (their records stay buffered and are retried)',
      registers,
      collect() {
        const stats = logStats();
        if (!stats) return;
        this.inc(stats.failedWrites - seen.failedWrites);
        seen.failedWrites = stats.failedWrites;
      },
    });
    new Gauge({
      name: 'prediction_log_buffered_records',
      help: 'Prediction log records waiting to be written',
      registers,
      collect() {
        const stats = logStats();
        if (stats) this.set(stats.buffered);
      },
    });
  }

  /** Publishes a drift evaluation: one series per feature and test (scores only once there are some). */
  driftRows(rows: readonly DriftRow[]): void {
    this.driftScore.reset();
    this.driftStatistic.reset();
    this.driftThreshold.reset();
    this.driftDetected.reset();
    for (const row of rows) {
      const labels = { feature: row.feature, test: row.test };
      this.driftThreshold.set(labels, row.threshold);
      this.driftDetected.set(labels, row.drifted ? 1 : 0);
      if (row.score !== null) this.driftScore.set(labels, row.score);
      if (row.statistic !== null) this.driftStatistic.set(labels, row.statistic);
    }
  }

  /** Records the model now serving: its info labels and how long it took to load. */
  modelServing(model: ServingModel): void {
    this.modelInfo.reset();
    this.modelInfo.set(
      { name: model.name, version: model.version, backend: model.backend, sha256: model.sha256 },
      1,
    );
    this.modelLoadSeconds.set(model.loadSeconds);
  }

  /** Records one answered image: its top-1 label and confidence. */
  predicted(label: string, confidence: number): void {
    this.predictions.inc({ label });
    this.confidence.observe(confidence);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

function batchBuckets(maxBatch: number): number[] {
  const buckets: number[] = [];
  for (let size = 1; size < maxBatch; size *= 2) buckets.push(size);
  buckets.push(maxBatch);
  return buckets;
}

/** The wasm backend's heap (where its tensors live), or undefined on other backends. */
function wasmHeapBytes(): number | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.buffer.byteLength;
}
