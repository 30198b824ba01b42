export interface MicroBatcherOptions {
  /** Most items in one run. */
  maxBatch: number;
  /** Longest an item waits for others to join its batch while more are on their way. */
  maxDelayMs: number;
  /** Called with the size of every batch that runs (metrics). */
  onBatch?: (size: number) => void;
}

/** Runs one batch: the outputs in the order of the inputs. All inputs of a batch share one key (one model). */
/**
 * Tells a queued item to give up (a deadline passed). Lighter than an AbortSignal, which costs an EventTarget per
 * request on the hot path.
 */
export interface CancelToken {
  readonly cancelled: boolean;
  readonly reason: unknown;
  /** Calls `onCancel` once when cancelled; returns a function that removes it. */
  subscribe(onCancel: () => void): () => void;
}

export type BatchRunner<Key, In, Out> = (key: Key, inputs: In[]) => Promise<Out[]>;

const NO_OP = () => {};

interface Item<Key, In, Out> {
  key: Key;
  input: In;
  enqueuedAt: number;
  resolve(output: Out): void;
  reject(error: unknown): void;
  detach(): void;
}

/**
 * Coalesces concurrent single-item requests into batches: one batch runs at a time; a batch takes up to `maxBatch`
 * queued items of the same key. A batch starts at the end of the current event-loop turn (setImmediate), so every
 * request whose body arrived in the same turn joins it at no cost in latency; a queued item waits longer only while
 * other items are on their way (announced with {@link expect} and still being decoded), and at most `maxDelayMs`.
 * A request on an idle server therefore runs at once, and under load the network runs full batches.
 */
export class MicroBatcher<Key, In, Out> {
  readonly #run: BatchRunner<Key, In, Out>;
  readonly #options: MicroBatcherOptions;
  readonly #queue: Item<Key, In, Out>[] = [];
  #running = false;
  #upcoming = 0;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;

  constructor(run: BatchRunner<Key, In, Out>, options: MicroBatcherOptions) {
    if (!Number.isInteger(options.maxBatch) || options.maxBatch < 1)
      throw new RangeError(`maxBatch must be a positive integer, got ${options.maxBatch}`);
    this.#run = run;
    this.#options = options;
  }

  /** Items queued or announced: the queue depth. */
  get depth(): number {
    return this.#queue.length + this.#upcoming;
  }

  /**
   * Announces `count` items that will be submitted soon (they are being decoded). Returns a function to call once
   * per announced item that will not be submitted after all (decoding failed); a submitted item settles its own.
   */
  expect(count = 1): () => void {
    this.#upcoming += count;
    let outstanding = count;
    return () => {
      if (outstanding === 0) return;
      outstanding -= 1;
      this.#upcoming -= 1;
      this.#schedule();
    };
  }

  /**
   * Queues one input; resolves with its output. `announced` says the item was announced with {@link expect} (and
   * so is no longer upcoming). Cancelling `cancel` removes a still-queued item and rejects with its reason.
   */
  submit(key: Key, input: In, options: { announced?: boolean; cancel?: CancelToken } = {}): Promise<Out> {
    if (options.announced) this.#upcoming = Math.max(0, this.#upcoming - 1);
    const { cancel } = options;
    return new Promise<Out>((resolve, reject) => {
      if (cancel?.cancelled) {
        reject(cancel.reason);
        this.#schedule();
        return;
      }
      const item: Item<Key, In, Out> = {
        key,
        input,
        enqueuedAt: performance.now(),
        resolve,
        reject,
        detach: NO_OP,
      };
      if (cancel) {
        item.detach = cancel.subscribe(() => {
          const index = this.#queue.indexOf(item);
          if (index >= 0) {
            this.#queue.splice(index, 1);
            reject(cancel.reason);
          }
        });
      }
      this.#queue.push(item);
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#running || this.#queue.length === 0) return;
    if (this.#queue.length >= this.#options.maxBatch) {
      this.#flush();
      return;
    }
    const oldest = this.#queue[0] as Item<Key, In, Out>;
    const waited = performance.now() - oldest.enqueuedAt;
    if (this.#upcoming === 0 || waited >= this.#options.maxDelayMs) {
      this.#immediate ??= setImmediate(() => {
        this.#immediate = undefined;
        if (!this.#running && this.#queue.length > 0) this.#flush();
      });
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      if (!this.#running && this.#queue.length > 0) this.#flush();
    }, this.#options.maxDelayMs - waited);
  }

  #flush(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#immediate) {
      clearImmediate(this.#immediate);
      this.#immediate = undefined;
    }
    const key = (this.#queue[0] as Item<Key, In, Out>).key;
    const batch: Item<Key, In, Out>[] = [];
    for (let i = 0; i < this.#queue.length && batch.length < this.#options.maxBatch; ) {
      const item = this.#queue[i] as Item<Key, In, Out>;
      if (item.key === key) {
        batch.push(item);
        this.#queue.splice(i, 1);
      } else i += 1;
    }
    this.#running = true;
    for (const item of batch) item.detach();
    this.#options.onBatch?.(batch.length);
    this.#execute(key, batch).finally(() => {
      this.#running = false;
      this.#schedule();
    });
  }

  async #execute(key: Key, batch: Item<Key, In, Out>[]): Promise<void> {
    try {
      const outputs = await this.#run(
        key,
        batch.map((item) => item.input),
      );
      if (outputs.length !== batch.length) {
        throw new Error(`batch runner returned ${outputs.length} outputs for ${batch.length} inputs`);
      }
      batch.forEach((item, i) => {
        item.resolve(outputs[i] as Out);
      });
    } catch (error) {
      for (const item of batch) item.reject(error);
    }
  }
}
