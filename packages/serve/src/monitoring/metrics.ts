import * as tf from '@tensorflow/tfjs-core';
import { Counter, collectDefaultMetrics, Gauge, Histogram, linearBuckets, Registry } from 'prom-client';
import type { ServingModel } from '../model/types.ts';

/** Latency buckets in seconds: sub-millisecond inference up to slow uploads. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface MetricsSources {
  /** Images admitted and not yet answered (decoding or waiting for the network). */
  queueDepth(): number;
}

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
