import { HttpError, unavailable } from '../errors.ts';
import type { ModelLease, ModelSlot } from '../model/model-slot.ts';
import type { ServingModel } from '../model/types.ts';
import type { ServeMetrics } from '../monitoring/metrics.ts';
import { type CancelToken, MicroBatcher } from './micro-batcher.ts';
import { type PreparedImage, prepareImage } from './prepare-input.ts';
import { type LabelProbability, topK } from './top-k.ts';

export interface PredictionServiceOptions {
  slot: ModelSlot;
  metrics: ServeMetrics;
  maxBatch: number;
  maxBatchDelayMs: number;
  maxQueue: number;
  maxPixels: number;
  requestTimeoutMs: number;
  /** Told about an observer that threw (the request is answered all the same). */
  onObserverError?: (error: unknown) => void;
}

/** One classified input. */
export interface InputPrediction {
  /** Every class probability, in label order. */
  probabilities: Float32Array;
  /** The `k` most probable classes, most probable first. */
  top: LabelProbability[];
}

/** One classified image file. */
export interface ImagePrediction extends InputPrediction {
  /** The decoded and preprocessed image (HWC uint8), for monitoring. */
  image: PreparedImage;
}

export interface PredictionResult<P extends InputPrediction = ImagePrediction> {
  model: ServingModel;
  predictions: P[];
}

/**
 * What observers (prediction logging, drift monitoring) see of every answered request, after the fact. Called
 * synchronously on the request path: an observer copies what it needs and returns at once.
 */
export interface PredictionEvent {
  model: ServingModel;
  predictions: ReadonlyArray<InputPrediction & { image?: PreparedImage }>;
  /** Milliseconds from admission to answer. */
  latencyMs: number;
}

/** Names the file of a multi-image request in error messages. */
export interface ImageSource {
  bytes: Uint8Array;
  /** e.g. `file 2 of 3 ("seven.png")`; omitted for single-image requests. */
  label?: string;
}

/**
 * The one prediction path every API calls (POST /predict, /predict/batch, and later the Open Inference Protocol):
 * admission against the queue bound, a model lease for the whole request, the training pipeline's preprocessing,
 * the shared micro-batcher, a deadline, and the prediction metrics.
 */
export class PredictionService {
  readonly #options: PredictionServiceOptions;
  readonly #batcher: MicroBatcher<ServingModel, Float32Array, Float32Array>;
  readonly #observers = new Set<(event: PredictionEvent) => void>();
  #admitted = 0;

  constructor(options: PredictionServiceOptions) {
    this.#options = options;
    this.#batcher = new MicroBatcher(
      async (model, inputs) => {
        const started = performance.now();
        try {
          return await model.predictBatch(inputs);
        } finally {
          options.metrics.inferenceSeconds.observe((performance.now() - started) / 1000);
        }
      },
      {
        maxBatch: options.maxBatch,
        maxDelayMs: options.maxBatchDelayMs,
        onBatch: (size) => options.metrics.batchSize.observe(size),
      },
    );
  }

  /** Images admitted and not yet answered. */
  get queueDepth(): number {
    return this.#admitted;
  }

  /** Calls `observer` with every answered request; returns a function that stops it. */
  observe(observer: (event: PredictionEvent) => void): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  /** Classifies image files (PNG, JPEG, WebP bytes) on one model; rejects the whole request if any image is bad. */
  async classifyImages(images: readonly ImageSource[], k: number): Promise<PredictionResult> {
    const started = performance.now();
    return this.#withAdmission(images.length, async (lease, deadline) => {
      const done = this.#batcher.expect(images.length);
      const { model } = lease;
      const settled = await Promise.allSettled(
        images.map(async ({ bytes, label }) => {
          let image: PreparedImage;
          try {
            image = await prepareImage(bytes, model, this.#options.maxPixels);
          } catch (error) {
            done();
            throw label && error instanceof HttpError ? prefixed(error, label) : error;
          }
          const probabilities = await this.#batcher.submit(model, image.input, {
            announced: true,
            cancel: deadline,
          });
          return { probabilities, image, top: topK(probabilities, model.labels, k) };
        }),
      );
      const failure = settled.find((outcome) => outcome.status === 'rejected');
      if (failure) throw failure.reason;
      const predictions = settled.map(
        (outcome) => (outcome as PromiseFulfilledResult<ImagePrediction>).value,
      );
      this.#answered(model, predictions, started);
      return { model, predictions };
    });
  }

  /**
   * Classifies inputs that are already network inputs: normalised HWC float32 of the model's input shape (see
   * `normalizeInput` for raw uint8 pixels). For APIs that send tensors rather than files, through the same
   * admission, micro-batcher, deadline and metrics as image files.
   */
  async classifyInputs(
    inputs: readonly Float32Array[],
    k: number,
  ): Promise<PredictionResult<InputPrediction>> {
    const started = performance.now();
    return this.#withAdmission(inputs.length, async (lease, deadline) => {
      const { model } = lease;
      const size = model.inputShape.reduce((a, b) => a * b, 1);
      const wrong = inputs.findIndex((input) => input.length !== size);
      if (wrong >= 0) {
        throw new HttpError(
          400,
          'INPUT_SHAPE_MISMATCH',
          `input ${wrong} has ${inputs[wrong]!.length} values; ${model.name} takes ${model.inputShape.join('x')} = ${size}`,
        );
      }
      const predictions = await Promise.all(
        inputs.map(async (input) => {
          const probabilities = await this.#batcher.submit(model, input, { cancel: deadline });
          return { probabilities, top: topK(probabilities, model.labels, k) };
        }),
      );
      this.#answered(model, predictions, started);
      return { model, predictions };
    });
  }

  #answered(model: ServingModel, predictions: PredictionEvent['predictions'], started: number): void {
    for (const prediction of predictions) {
      const best = prediction.top[0];
      if (best) this.#options.metrics.predicted(best.label, best.probability);
    }
    if (this.#observers.size === 0) return;
    const event = { model, predictions, latencyMs: performance.now() - started };
    for (const observer of this.#observers) {
      try {
        observer(event);
      } catch (error) {
        this.#options.onObserverError?.(error);
      }
    }
  }

  /**
   * Runs `work` with `count` images admitted and the current model leased, under the request deadline. Over the
   * queue bound, before a model is loaded, and past the deadline it fails with 503 and Retry-After.
   */
  async #withAdmission<T>(
    count: number,
    work: (lease: ModelLease, deadline: CancelToken) => Promise<T>,
  ): Promise<T> {
    const { maxQueue, requestTimeoutMs, slot } = this.#options;
    if (this.#admitted + count > maxQueue) {
      throw unavailable(
        'OVERLOADED',
        `the service is at capacity (${this.#admitted} images in progress, limit ${maxQueue})`,
        1,
        'retry after the Retry-After delay; scale out if this persists',
      );
    }
    const lease = slot.acquire();
    if (!lease) {
      throw unavailable('MODEL_NOT_READY', 'no model is loaded yet', 2, 'retry once GET /readyz answers 200');
    }
    this.#admitted += count;
    const deadline = new Deadline(requestTimeoutMs);
    // Admission and lease end when the work really ends, even if the deadline answered the client first: the
    // queue bound counts work the process is still doing, and a model is never disposed under a running batch.
    const settled = work(lease, deadline).finally(() => {
      deadline.clear();
      this.#admitted -= count;
      lease.release();
    });
    settled.catch(() => {});
    return await Promise.race([settled, deadline.expired]);
  }
}

/** A request's deadline: a timer that, when it fires, cancels the request's queued work and rejects `expired`. */
class Deadline implements CancelToken {
  cancelled = false;
  reason: unknown;
  /** Rejects with 503 PREDICTION_TIMEOUT when the time is up; never resolves. */
  readonly expired: Promise<never>;
  readonly #timer: NodeJS.Timeout;
  readonly #listeners = new Set<() => void>();

  constructor(timeoutMs: number) {
    let expire: (error: HttpError) => void = () => {};
    this.expired = new Promise<never>((_, reject) => {
      expire = reject;
    });
    this.expired.catch(() => {});
    this.#timer = setTimeout(() => {
      // Built only when it happens: an Error's stack trace costs tens of microseconds per request.
      this.reason = new HttpError(
        503,
        'PREDICTION_TIMEOUT',
        `the prediction took longer than ${timeoutMs} ms`,
        {
          retryAfterSeconds: 1,
          hint: 'the service is overloaded; retry later',
        },
      );
      this.cancelled = true;
      for (const listener of this.#listeners) listener();
      this.#listeners.clear();
      expire(this.reason as HttpError);
    }, timeoutMs);
  }

  subscribe(onCancel: () => void): () => void {
    this.#listeners.add(onCancel);
    return () => this.#listeners.delete(onCancel);
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#listeners.clear();
  }
}

function prefixed(error: HttpError, label: string): HttpError {
  return new HttpError(error.statusCode, error.code, `${label}: ${error.message}`, {
    hint: error.hint,
    cause: error.cause,
    retryAfterSeconds: error.retryAfterSeconds,
  });
}
