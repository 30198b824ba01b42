import { StorageError } from '../errors.ts';

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * Turns whatever the SDK threw (ApiError with an HTTP status, a gaxios/node-fetch error with a socket code, a
 * checksum RequestError, a RangeError from the resumable uploader) into one StorageError naming the URI.
 */
export function mapGcsError(error: unknown, uri: string, action: string): StorageError {
  if (error instanceof StorageError) return error;
  const status = httpStatus(error);
  const rawCode = (error as { code?: unknown } | undefined)?.code;
  const code = typeof rawCode === 'string' ? rawCode : '';
  const message = error instanceof Error ? error.message : String(error);
  const what = `cannot ${action} ${uri}`;

  if (status === 404) {
    return new StorageError('STORAGE_NOT_FOUND', `${what}: not found`, {
      hint: 'check the bucket and object name (gs://bucket/path); the bucket itself may not exist',
      cause: error,
    });
  }
  if (status === 401 || status === 403) {
    return new StorageError('STORAGE_FORBIDDEN', `${what}: access denied (${status})`, {
      hint:
        'run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS to a service account key, ' +
        'and grant that account roles/storage.objectAdmin (or objectViewer to read) on the bucket',
      cause: error,
    });
  }
  if (status === 412) {
    return new StorageError(
      'STORAGE_PRECONDITION',
      `${what}: it changed meanwhile (412 precondition failed)`,
      {
        hint: 'another writer got there first; read the current object and retry',
        cause: error,
      },
    );
  }
  if (
    code === 'CONTENT_DOWNLOAD_MISMATCH' ||
    code.startsWith('FILE_NO_UPLOAD') ||
    isChecksumMessage(message)
  ) {
    return new StorageError(
      'STORAGE_CHECKSUM',
      `${what}: checksum mismatch, the data was corrupted in transit`,
      {
        hint: 'nothing corrupt was kept; retry, and if it persists check the network path (proxies) or re-upload',
        cause: error,
      },
    );
  }
  if (status === 408 || status === 429 || status >= 500) {
    return new StorageError('STORAGE_UNAVAILABLE', `${what}: GCS kept answering ${status} after retries`, {
      hint: 'the service is overloaded or failing; try again later (retries already backed off exponentially)',
      cause: error,
    });
  }
  if (
    CONNECTION_CODES.has(code) ||
    /ECONNREFUSED|ENOTFOUND|ECONNRESET|socket hang up|other side closed/i.test(message)
  ) {
    return new StorageError(
      'STORAGE_UNREACHABLE',
      `${what}: the storage endpoint is unreachable (${code || message})`,
      {
        hint: 'check the network and the endpoint; with an emulator, check that it runs and STORAGE_EMULATOR_HOST',
        cause: error,
      },
    );
  }
  if (/retry limit exceeded|total time limit/i.test(message)) {
    return new StorageError('STORAGE_UNAVAILABLE', `${what}: gave up after retries (${message})`, {
      hint: 'the service or the network kept failing; try again later',
      cause: error,
    });
  }
  return new StorageError('STORAGE_IO', `${what}: ${message}`, { cause: error });
}

/** The HTTP status: ApiError puts it in `code`, GaxiosError (resumable uploads) in `status`/`response.status`. */
function httpStatus(error: unknown): number {
  const candidate = error as
    | { code?: unknown; status?: unknown; response?: { status?: unknown } }
    | undefined;
  for (const value of [candidate?.code, candidate?.status, candidate?.response?.status]) {
    const status = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
    if (Number.isInteger(status) && status >= 100 && status < 600) return status;
  }
  return Number.NaN;
}

function isChecksumMessage(message: string): boolean {
  return /checksum|doesn't match calculated|crc32c.*match|md5.*match/i.test(message);
}
