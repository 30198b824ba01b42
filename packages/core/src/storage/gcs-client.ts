import { Storage as GcsClient, IdempotencyStrategy, RETRYABLE_ERR_FN_DEFAULT } from '@google-cloud/storage';
import { StorageError } from '../errors.ts';

/** How the GCS backend talks to the service. Every field has a production default; tests shrink them. */
export interface GcsOptions {
  /**
   * API endpoint, e.g. an emulator at `http://127.0.0.1:4443`; omitted means real GCS. Without a scheme `http://`
   * is assumed, as in the `STORAGE_EMULATOR_HOST=localhost:4443` convention. When set, no credentials are used.
   */
  apiEndpoint?: string;
  projectId?: string;
  /** Objects at least this big upload through a resumable session (default 8 MiB); smaller ones in one request. */
  resumableThresholdBytes?: number;
  /**
   * Bytes per request of a resumable upload (default 8 MiB, a multiple of 256 KiB). A failed request is re-sent
   * from the last byte the server confirmed, so this is also how much is held in memory to re-send.
   */
  resumableChunkBytes?: number;
  /** Objects per list page (GCS caps it at 1000). */
  listPageSize?: number;
  /** A download that receives no byte for this long fails (and `read` retries it); default 60 000 ms. */
  stallTimeoutMs?: number;
  retry?: GcsRetryOptions;
}

/**
 * Retries of 408/429/5xx answers and dropped connections, with exponential backoff: the n-th wait is about
 * `multiplier^n` seconds plus jitter, capped at `maxRetryDelaySeconds`.
 */
export interface GcsRetryOptions {
  /** Retries after the first attempt (default 5); 0 disables retrying. */
  maxRetries?: number;
  /** Longest wait between attempts (default 32 s). Values under 1 s are raised to 1 s (see below). */
  maxRetryDelaySeconds?: number;
  /** Growth of the wait per attempt (default 2). */
  retryDelayMultiplier?: number;
  /** Give up retrying once this much time has passed since the first attempt (default 600 s). */
  totalTimeoutSeconds?: number;
}

const MIB = 1024 * 1024;
export const DEFAULT_RESUMABLE_THRESHOLD = 8 * MIB;
export const DEFAULT_RESUMABLE_CHUNK = 8 * MIB;
const CHUNK_UNIT = 256 * 1024;

/** The settled options the backend works with. */
export interface GcsSettings {
  resumableThreshold: number;
  chunkSize: number;
  pageSize: number;
  maxRetries: number;
  stallTimeoutMs: number;
}

export function gcsSettings(options: GcsOptions): GcsSettings {
  const chunkSize = options.resumableChunkBytes ?? DEFAULT_RESUMABLE_CHUNK;
  if (chunkSize <= 0 || chunkSize % CHUNK_UNIT !== 0) {
    throw new StorageError(
      'STORAGE_BAD_OPTIONS',
      `resumableChunkBytes ${chunkSize} is not a multiple of 256 KiB`,
      {
        hint: 'GCS accepts resumable chunks in multiples of 262144 bytes, e.g. 8388608 (8 MiB)',
      },
    );
  }
  return {
    resumableThreshold: options.resumableThresholdBytes ?? DEFAULT_RESUMABLE_THRESHOLD,
    chunkSize,
    pageSize: Math.min(Math.max(1, options.listPageSize ?? 1000), 1000),
    maxRetries: Math.max(0, options.retry?.maxRetries ?? 5),
    stallTimeoutMs: Math.max(1, options.stallTimeoutMs ?? 60_000),
  };
}

/**
 * Builds the SDK client. Workarounds for SDK behaviour, each checked against @google-cloud/storage 7.x:
 * - `maxRetries: 0` is falsy there and silently becomes the default 3, so "no retries" is expressed as
 *   `autoRetry: false` plus a retry predicate that refuses everything.
 * - Whole-request retries (`save()`, opening a resumable session) use async-retry, whose minimum wait of 1 s makes
 *   any smaller `maxRetryDelay` throw; the cap is therefore at least 1 s.
 * - The SDK reads `STORAGE_EMULATOR_HOST` itself and then sends JSON-API calls to that value verbatim; an explicit
 *   `apiEndpoint` is made to win so the configuration edge stays the one place that decides where data goes.
 */
export function createGcsClient(options: GcsOptions): GcsClient {
  const retry = options.retry ?? {};
  const maxRetries = Math.max(0, retry.maxRetries ?? 5);
  const endpoint = options.apiEndpoint ? normalizeEndpoint(options.apiEndpoint) : undefined;
  const client = new GcsClient({
    ...(endpoint ? { apiEndpoint: endpoint } : {}),
    ...(options.projectId ? { projectId: options.projectId } : {}),
    retryOptions: {
      autoRetry: maxRetries > 0,
      maxRetries: Math.max(1, maxRetries),
      retryDelayMultiplier: retry.retryDelayMultiplier ?? 2,
      maxRetryDelay: Math.max(1, retry.maxRetryDelaySeconds ?? 32),
      totalTimeout: retry.totalTimeoutSeconds ?? 600,
      retryableErrorFn: maxRetries > 0 ? RETRYABLE_ERR_FN_DEFAULT : () => false,
      // Uploads carry no generation precondition (except create-only writes), and the SDK's default strategy
      // (RetryConditional) would then never retry them. Retrying is safe for us: every upload re-sends a whole
      // object from bytes we still hold, so a repeated attempt converges on the same object, and a resumable
      // session asks the server what it already has before re-sending. The residual risk, last writer wins
      // between two writers of one path, is the same without retries. Deletes and copies are idempotent too.
      idempotencyStrategy: IdempotencyStrategy.RetryAlways,
    },
  });
  if (endpoint) client.baseUrl = `${endpoint}/storage/v1`;
  return client;
}

function normalizeEndpoint(endpoint: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `http://${endpoint}`;
  return withScheme.replace(/\/+$/, '');
}
