import { open, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@tfmlops/core';
import { fileSize } from './file-hash.ts';
import type { ProgressReporter } from './progress.ts';

export type FetchLike = typeof globalThis.fetch;

export interface FetchToFileOptions {
  fetch: FetchLike;
  /** Consecutive failed attempts (without any new byte) allowed after the first one. */
  retries: number;
  /** Delay before the first retry; doubled for each further consecutive failure. */
  retryDelayMs: number;
  /** An attempt that receives no byte for this long is aborted and retried. */
  stallTimeoutMs: number;
  logger: Logger;
  progress: ProgressReporter;
  signal?: AbortSignal;
}

/** An HTTP status that ends an attempt; 5xx, 408 and 429 are worth retrying, other 4xx are not. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
  ) {
    super(`HTTP ${status}`);
  }

  get retryable(): boolean {
    return this.status >= 500 || this.status === 408 || this.status === 429;
  }
}

class StallError extends Error {
  constructor(ms: number) {
    super(`no data received for ${ms} ms`);
  }
}

class IncompleteBodyError extends Error {}

/** Local disk problems: retrying the network will not fix them. */
const LOCAL_FS_CODES = new Set(['ENOSPC', 'EACCES', 'EPERM', 'EROFS', 'EISDIR', 'ENOTDIR', 'EDQUOT']);

/** Socket error codes in words; the code stays in the text for searching. */
const NETWORK_CODES: Record<string, string> = {
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_SOCKET: 'connection closed mid-transfer',
};

function isRetryable(error: unknown, signal: AbortSignal | undefined): boolean {
  if (signal?.aborted) return false;
  if (error instanceof HttpStatusError) return error.retryable;
  const code = errorCode(error);
  // A definite "no such host" will not change in seconds (unlike EAI_AGAIN); go on to the next mirror at once.
  if (code === 'ENOTFOUND') return false;
  return !(code !== undefined && LOCAL_FS_CODES.has(code));
}

/** fetch wraps socket errors: `TypeError: fetch failed` with the errno error as `cause`. */
function errorCode(error: unknown): string | undefined {
  const own = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof own === 'string') return own;
  const cause = error instanceof Error ? (error.cause as NodeJS.ErrnoException | undefined) : undefined;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

/** Why an attempt failed, in words for logs and the final error (fetch hides the socket error in `cause`). */
export function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = errorCode(error);
  if (code !== undefined && NETWORK_CODES[code]) return `${NETWORK_CODES[code]} (${code})`;
  const cause = error.cause instanceof Error ? error.cause : undefined;
  if (cause && error.message === 'fetch failed') return code ?? cause.message;
  return cause ? `${error.message} (${code ?? cause.message})` : error.message;
}

/**
 * Downloads `url` into `partPath`, resuming from the bytes already there with `Range:` when the server answers
 * 206 with a matching Content-Range, and starting over when it answers 200. Network errors, stalls and retryable
 * statuses are retried with exponential backoff; an attempt that made progress resets the failure count, so a
 * flaky connection that keeps delivering bytes is not given up on. Throws the last error when retries run out.
 * Returns whether the file was stitched together from more than one response (then a checksum mismatch may be
 * the stitching's fault rather than the server's).
 */
export async function fetchToFile(
  url: string,
  partPath: string,
  options: FetchToFileOptions,
): Promise<{ resumed: boolean }> {
  let failures = 0;
  let resumed = false;
  for (;;) {
    const offset = (await fileSize(partPath)) ?? 0;
    try {
      const outcome = await attempt(url, partPath, offset, options);
      if (outcome === 'restart') continue;
      resumed ||= outcome === 'appended';
      return { resumed };
    } catch (error) {
      if (!isRetryable(error, options.signal)) throw error;
      const progressed = ((await fileSize(partPath)) ?? 0) > offset;
      failures = progressed ? 1 : failures + 1;
      if (failures > options.retries) throw error;
      const delayMs = options.retryDelayMs * 2 ** (failures - 1);
      options.logger.warn(
        { url, attempt: failures, delayMs, reason: describeFailure(error) },
        `download of ${url} failed (${describeFailure(error)}); retrying in ${delayMs} ms`,
      );
      await sleep(delayMs, undefined, { signal: options.signal });
    }
  }
}

type AttemptOutcome = 'complete' | 'appended' | 'restart';

async function attempt(
  url: string,
  partPath: string,
  offset: number,
  options: FetchToFileOptions,
): Promise<AttemptOutcome> {
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  let stallTimer: NodeJS.Timeout | undefined;
  const armStallTimer = () => {
    clearTimeout(stallTimer);
    stallTimer = setTimeout(
      () => controller.abort(new StallError(options.stallTimeoutMs)),
      options.stallTimeoutMs,
    );
  };
  armStallTimer();
  try {
    // identity: a server that gzips on the fly would make fetch hand us bytes that differ from the published hash.
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (offset > 0) headers.range = `bytes=${offset}-`;
    const response = await options.fetch(url, { headers, signal, redirect: 'follow' });

    if (response.status === 416 && offset > 0) {
      await response.body?.cancel();
      // "bytes */N" with N equal to what we hold means the previous attempt had in fact finished.
      const total = parseContentRange(response.headers.get('content-range'))?.total;
      if (total === offset) return 'complete';
      await rm(partPath, { force: true });
      return 'restart';
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new HttpStatusError(response.status, url);
    }

    let append = false;
    let total: number | undefined;
    if (response.status === 206) {
      const range = parseContentRange(response.headers.get('content-range'));
      if (range?.start !== offset) {
        await response.body?.cancel();
        options.logger.warn(
          { url, offset, contentRange: response.headers.get('content-range') },
          'unexpected range; restarting',
        );
        await rm(partPath, { force: true });
        return 'restart';
      }
      append = true;
      total = range.total;
    } else {
      if (offset > 0) options.logger.info({ url, offset }, `${url} does not support resuming; starting over`);
      total = parseLength(response.headers.get('content-length'));
    }

    const handle = await open(partPath, append ? 'a' : 'w');
    let written = append ? offset : 0;
    options.progress.start(total, written);
    try {
      if (response.body) {
        for await (const chunk of response.body) {
          armStallTimer();
          await handle.write(chunk);
          written += chunk.byteLength;
          options.progress.advance(chunk.byteLength);
        }
      }
    } finally {
      await handle.close();
    }
    if (total !== undefined && written < total) {
      throw new IncompleteBodyError(`connection closed after ${written} of ${total} bytes`);
    }
    return append ? 'appended' : 'complete';
  } catch (error) {
    // The abort reason (a stall) is more telling than the generic AbortError fetch throws for it.
    throw controller.signal.aborted && controller.signal.reason instanceof StallError
      ? controller.signal.reason
      : error;
  } finally {
    clearTimeout(stallTimer);
  }
}

// `bytes 100-199/1000` -> { start: 100, total: 1000 }; `bytes */1000` (the answer to a 416) -> { total: 1000 }.
function parseContentRange(header: string | null): { start?: number; total?: number } | undefined {
  if (!header) return undefined;
  const match = /^bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)$/i.exec(header.trim());
  if (!match) return undefined;
  return {
    start: match[1] === undefined ? undefined : Number(match[1]),
    total: match[3] === undefined || match[3] === '*' ? undefined : Number(match[3]),
  };
}

function parseLength(header: string | null): number | undefined {
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header);
}
