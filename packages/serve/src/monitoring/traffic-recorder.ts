import type { Logger } from '@tfmlops/core';
import sharp from 'sharp';
import type { PredictionEvent } from '../inference/prediction-service.ts';
import type { PredictionLogger } from '../prediction-log/prediction-logger.ts';
import type { PredictionRecord } from '../prediction-log/record.ts';
import type { DriftService } from './drift-service.ts';
import { type LiveFeatures, liveFeatures } from './live-features.ts';

export interface TrafficRecorderOptions {
  drift: DriftService;
  /** Undefined: prediction logging is off. */
  predictionLog: PredictionLogger | undefined;
  /** Log each input as a PNG (PREDICTION_LOG_IMAGES). */
  logImages: boolean;
  /** Log embeddings (PREDICTION_LOG_EMBEDDINGS). */
  logEmbeddings: boolean;
  logger: Logger;
  /** Answered requests waiting to be processed at most; more are skipped (and counted as dropped log records). */
  maxPending?: number;
  /** PNG encodings in flight at most (PREDICTION_LOG_IMAGES); beyond it records are dropped and counted. */
  maxEncoding?: number;
}

/**
 * The prediction path's observer for monitoring: it only queues each answered request (the request is already
 * answered and waits for nothing here), and at the end of the event-loop turn computes every input's features once
 * and hands them to the drift monitor's window and, for sampled requests, to the prediction log as records.
 */
export class TrafficRecorder {
  readonly #options: TrafficRecorderOptions;
  readonly #pending: PredictionEvent[] = [];
  readonly #encodings = new Set<Promise<void>>();
  #scheduled: NodeJS.Immediate | undefined;

  constructor(options: TrafficRecorderOptions) {
    this.#options = options;
  }

  /** The observer to pass to `PredictionService.observe`: O(1), never throws for a storage problem. */
  readonly observe = (event: PredictionEvent): void => {
    if (this.#pending.length >= (this.#options.maxPending ?? 10_000)) {
      this.#options.predictionLog?.countDropped(event.predictions.length);
      return;
    }
    this.#pending.push(event);
    this.#scheduled ??= setImmediate(() => this.#process());
  };

  /** Processes what is queued, waits for image encodings, then flushes the prediction log (SIGTERM). */
  async close(): Promise<void> {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#process();
    await Promise.allSettled([...this.#encodings]);
    await this.#options.predictionLog?.close();
  }

  #process(): void {
    this.#scheduled = undefined;
    const events = this.#pending.splice(0);
    for (const event of events) {
      try {
        this.#record(event);
      } catch (error) {
        this.#options.logger.error({ err: error }, 'monitoring could not record a prediction');
      }
    }
  }

  #record(event: PredictionEvent): void {
    const { drift, predictionLog } = this.#options;
    const logged = predictionLog?.sampled() ?? false;
    if (!logged && !drift.enabled) return;
    const time = new Date().toISOString();
    for (const prediction of event.predictions) {
      const features = liveFeatures(prediction, event.model);
      // Only the plain numbers go into the window (it is posted to the worker; the pixels are not kept).
      const { pixels: _image, ...sample } = features;
      drift.observe(event.model, sample);
      if (!logged || !predictionLog) continue;
      const record: PredictionRecord = {
        time,
        request_id: event.requestId ?? 'unknown',
        api: event.api ?? 'predict',
        model: { name: event.model.name, version: event.model.version },
        image: { shape: event.model.inputShape, mean: features.mean, std: features.std },
        predictions: prediction.top,
        predicted_index: features.predictedIndex,
        confidence: features.confidence,
        latency_ms: Math.round(event.latencyMs * 1000) / 1000,
        embedding:
          this.#options.logEmbeddings && features.embedding
            ? features.embedding.map((value) => Math.round(value * 1e5) / 1e5)
            : null,
      };
      if (this.#options.logImages) this.#withImage(record, features, event.model.inputShape);
      else predictionLog.offer(record);
    }
  }

  /** Encodes the input as PNG off the request path, then logs the record with it. */
  #withImage(record: PredictionRecord, features: LiveFeatures, [height, width, channels]: number[]): void {
    const log = this.#options.predictionLog as PredictionLogger;
    if (this.#encodings.size >= (this.#options.maxEncoding ?? 64)) {
      log.countDropped();
      return;
    }
    const image = sharp(Buffer.from(features.pixels()), {
      raw: { width: width as number, height: height as number, channels: channels as 1 | 3 },
    });
    // Without this sharp writes one channel as RGB.
    const encoding = (channels === 1 ? image.toColourspace('b-w') : image)
      .png()
      .toBuffer()
      .then(
        (png) => {
          log.offer({ ...record, image_png_base64: png.toString('base64') });
        },
        (error: unknown) => {
          log.countDropped();
          this.#options.logger.warn({ err: error }, 'prediction log: could not encode an input as PNG');
        },
      )
      .finally(() => this.#encodings.delete(encoding));
    this.#encodings.add(encoding);
  }
}
