import { joinUri, type Logger, type Storage } from '@tfmlops/core';
import type { PredictionRecord } from './record.ts';

export interface PredictionLoggerOptions {
  /** Where batches go: `<uri>/<yyyy>/<mm>/<dd>/<hh>/<time>-<instance>-<seq>.jsonl` (local path or gs://). */
  uri: string;
  storage: Storage;
  /** Share of requests logged, in [0,1]. */
  sampleRate: number;
  /** Records held at most; beyond it new records are dropped (and counted), never queued without bound. */
  maxBuffered?: number;
  /** A batch is written when this many records wait, or `flushIntervalMs` after the first one, whichever first. */
  batchSize?: number;
  flushIntervalMs?: number;
  /** Tells instances apart in object names (Cloud Run: K_REVISION + a random suffix). */
  instanceId: string;
  logger?: Logger;
  random?: () => number;
  now?: () => Date;
}

export interface PredictionLogStats {
  /** Records written to storage. */
  written: number;
  /** Records not kept: the buffer was full. */
  dropped: number;
  /** Batch writes that failed (each is retried later). */
  failedWrites: number;
  /** Records waiting to be written. */
  buffered: number;
}

/**
 * Samples prediction records into a bounded in-memory buffer and writes them in batches as JSONL objects, off the
 * request path: `offer` is synchronous and never waits on storage. A failed write keeps its records for the next
 * attempt (with backoff) as long as the buffer has room; an unreachable bucket therefore costs memory up to
 * `maxBuffered` records and then drops, counted, instead of growing or failing requests. `close` flushes (SIGTERM).
 */
export class PredictionLogger {
  private buffer: PredictionRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<boolean> | undefined;
  private sequence = 0;
  private consecutiveFailures = 0;
  private closed = false;
  private readonly counters = { written: 0, dropped: 0, failedWrites: 0 };
  private readonly maxBuffered: number;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly random: () => number;
  private readonly now: () => Date;

  constructor(private readonly options: PredictionLoggerOptions) {
    this.maxBuffered = options.maxBuffered ?? 10_000;
    this.batchSize = options.batchSize ?? 500;
    this.flushIntervalMs = options.flushIntervalMs ?? 10_000;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => new Date());
  }

  /** True when this request should be logged (call before building the record, which costs a little). */
  sampled(): boolean {
    return !this.closed && this.options.sampleRate > 0 && this.random() < this.options.sampleRate;
  }

  /** Buffers a record; returns false when it was dropped because the buffer is full. */
  offer(record: PredictionRecord): boolean {
    if (this.closed) return false;
    if (this.buffer.length >= this.maxBuffered) {
      this.counters.dropped += 1;
      return false;
    }
    this.buffer.push(record);
    if (this.buffer.length >= this.batchSize && this.consecutiveFailures === 0) this.kick(0);
    else this.kick(this.flushIntervalMs);
    return true;
  }

  get stats(): PredictionLogStats {
    return { ...this.counters, buffered: this.buffer.length };
  }

  /**
   * Writes everything buffered now, batch by batch (after any write in progress). Stops at the first failed batch:
   * its records stay buffered for a later attempt.
   */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.writing) await this.writing;
    while (this.buffer.length > 0) {
      this.writing = this.writeBatch().finally(() => {
        this.writing = undefined;
      });
      if (!(await this.writing)) return;
    }
  }

  /** Stops sampling and flushes what is buffered; what still cannot be written is reported, not hidden. */
  async close(): Promise<PredictionLogStats> {
    this.closed = true;
    await this.flush();
    if (this.buffer.length > 0) {
      this.options.logger?.error(
        { unwritten: this.buffer.length, uri: this.options.uri },
        'prediction log: records could not be written before shutdown',
      );
    }
    return this.stats;
  }

  private kick(delayMs: number): void {
    if (this.timer && delayMs > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch(() => undefined);
    }, delayMs);
    // Logging must never keep a stopping process alive; shutdown flushes explicitly.
    this.timer.unref();
  }

  /** Writes the oldest batch; true when it was written. */
  private async writeBatch(): Promise<boolean> {
    const batch = this.buffer.slice(0, this.batchSize);
    const at = this.now();
    const stamp = at.toISOString();
    const uri = joinUri(
      this.options.uri,
      `${stamp.slice(0, 4)}/${stamp.slice(5, 7)}/${stamp.slice(8, 10)}/${stamp.slice(11, 13)}/${stamp.replace(/[-:.]/g, '')}-${this.options.instanceId}-${String(this.sequence).padStart(6, '0')}.jsonl`,
    );
    try {
      await this.options.storage.write(uri, `${batch.map((record) => JSON.stringify(record)).join('\n')}\n`, {
        contentType: 'application/x-ndjson',
      });
      this.sequence += 1;
      this.buffer.splice(0, batch.length);
      this.counters.written += batch.length;
      this.consecutiveFailures = 0;
      return true;
    } catch (error) {
      this.counters.failedWrites += 1;
      this.consecutiveFailures += 1;
      this.options.logger?.warn(
        { err: error, uri, records: batch.length, buffered: this.buffer.length },
        'prediction log: batch write failed; will retry',
      );
      if (!this.closed)
        this.kick(Math.min(300_000, this.flushIntervalMs * 2 ** Math.min(5, this.consecutiveFailures)));
      return false;
    }
  }
}
