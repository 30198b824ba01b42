import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type File, Storage as GcsClient, IdempotencyStrategy } from '@google-cloud/storage';
import { StorageError } from '../errors.ts';
import type { StorageEntry, WriteOptions } from './types.ts';

export interface GcsOptions {
  /** API endpoint, e.g. an emulator at http://127.0.0.1:4443; omitted means real GCS. */
  apiEndpoint?: string;
  projectId?: string;
  /** Objects at least this big upload through a resumable session (default 8 MiB); smaller ones in one request. */
  resumableThresholdBytes?: number;
  /** Objects per list page (GCS caps it at 1000). */
  listPageSize?: number;
  retry?: { maxRetries?: number; maxRetryDelaySeconds?: number; totalTimeoutSeconds?: number };
}

/**
 * Google Cloud Storage backend on the official SDK. Uploads are validated with CRC32C, retried on 429/5xx and
 * dropped connections with exponential backoff, and large or streamed objects go through resumable sessions. An
 * object only becomes visible when its upload is finalized, so an interrupted upload never leaves a partial object.
 */
export class GcsBackend {
  private readonly client: GcsClient;
  private readonly resumableThreshold: number;
  private readonly pageSize: number;

  constructor(options: GcsOptions = {}) {
    this.resumableThreshold = options.resumableThresholdBytes ?? 8 * 1024 * 1024;
    this.pageSize = options.listPageSize ?? 1000;
    this.client = new GcsClient({
      ...(options.apiEndpoint ? { apiEndpoint: options.apiEndpoint } : {}),
      ...(options.projectId ? { projectId: options.projectId } : {}),
      retryOptions: {
        autoRetry: true,
        maxRetries: options.retry?.maxRetries ?? 5,
        retryDelayMultiplier: 2,
        // The SDK's whole-object retry (async-retry) waits at least one second, so a smaller cap is invalid.
        maxRetryDelay: Math.max(1, options.retry?.maxRetryDelaySeconds ?? 32),
        totalTimeout: options.retry?.totalTimeoutSeconds ?? 600,
        // Every write we make uploads a whole object from data we still hold, so repeating it converges on the
        // same object: retrying is safe even without a generation precondition, which the default strategy
        // would require before retrying uploads at all.
        idempotencyStrategy: IdempotencyStrategy.RetryAlways,
      },
    });
  }

  async read(bucket: string, key: string): Promise<Buffer> {
    try {
      const [data] = await this.file(bucket, key).download({ validation: 'crc32c' });
      return data;
    } catch (error) {
      throw mapGcsError(error, bucket, key, 'read');
    }
  }

  async readStream(bucket: string, key: string): Promise<Readable> {
    // Ask for metadata first so a missing object fails here, clearly, rather than later inside a pipeline.
    try {
      await this.file(bucket, key).getMetadata();
    } catch (error) {
      throw mapGcsError(error, bucket, key, 'read');
    }
    const stream = this.file(bucket, key).createReadStream({ validation: 'crc32c' });
    const mapped = new Readable({ read() {} });
    stream.on('data', (chunk: Buffer) => mapped.push(chunk));
    stream.on('end', () => mapped.push(null));
    stream.on('error', (error) => mapped.destroy(mapGcsError(error, bucket, key, 'read')));
    return mapped;
  }

  async write(bucket: string, key: string, data: Buffer | Uint8Array | string, options: WriteOptions = {}) {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    try {
      await this.file(bucket, key).save(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
        resumable: bytes.byteLength >= this.resumableThreshold,
        validation: 'crc32c',
        ...(options.contentType ? { contentType: options.contentType } : {}),
      });
    } catch (error) {
      throw mapGcsError(error, bucket, key, 'write');
    }
  }

  async writeStream(
    bucket: string,
    key: string,
    source: Readable | AsyncIterable<Uint8Array>,
    options: WriteOptions = {},
  ) {
    // The size of a stream is unknown up front, so it always uses a resumable session: chunks that fail are
    // re-sent from the last byte the server confirmed instead of restarting the whole object.
    const sink = this.file(bucket, key).createWriteStream({
      resumable: true,
      validation: 'crc32c',
      ...(options.contentType ? { contentType: options.contentType } : {}),
    });
    try {
      await pipeline(source, sink);
    } catch (error) {
      throw mapGcsError(error, bucket, key, 'write');
    }
  }

  async list(bucket: string, prefix: string, toUri: (name: string) => string): Promise<StorageEntry[]> {
    const entries: StorageEntry[] = [];
    let pageToken: string | undefined;
    try {
      do {
        const [files, next] = await this.client.bucket(bucket).getFiles({
          prefix,
          autoPaginate: false,
          maxResults: this.pageSize,
          ...(pageToken ? { pageToken } : {}),
        });
        for (const file of files) {
          entries.push({
            uri: toUri(file.name),
            relativePath: file.name.slice(prefix.length),
            size: Number(file.metadata.size ?? 0),
          });
        }
        pageToken = (next as { pageToken?: string } | null)?.pageToken;
      } while (pageToken);
    } catch (error) {
      throw mapGcsError(error, bucket, prefix, 'list');
    }
    return entries.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
  }

  async exists(bucket: string, key: string): Promise<boolean> {
    try {
      const [found] = await this.file(bucket, key).exists();
      return found;
    } catch (error) {
      throw mapGcsError(error, bucket, key, 'check');
    }
  }

  async delete(bucket: string, key: string): Promise<void> {
    try {
      await this.file(bucket, key).delete({ ignoreNotFound: true });
    } catch (error) {
      throw mapGcsError(error, bucket, key, 'delete');
    }
  }

  async copy(fromBucket: string, fromKey: string, toBucket: string, toKey: string): Promise<void> {
    try {
      await this.file(fromBucket, fromKey).copy(this.client.bucket(toBucket).file(toKey));
    } catch (error) {
      throw mapGcsError(error, fromBucket, fromKey, 'copy');
    }
  }

  private file(bucket: string, key: string): File {
    return this.client.bucket(bucket).file(key);
  }
}

function mapGcsError(error: unknown, bucket: string, key: string, action: string): StorageError {
  if (error instanceof StorageError) return error;
  const uri = `gs://${bucket}/${key}`;
  const status = Number((error as { code?: unknown }).code);
  const code = String((error as { code?: unknown }).code ?? '');
  const message = (error as Error).message ?? String(error);
  if (status === 404) {
    return new StorageError('STORAGE_NOT_FOUND', `cannot ${action} ${uri}: not found`, {
      hint: 'check the bucket and object name (gs://bucket/path)',
      cause: error,
    });
  }
  if (status === 401 || status === 403) {
    return new StorageError('STORAGE_FORBIDDEN', `cannot ${action} ${uri}: access denied (${status})`, {
      hint: 'run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS, and grant the account roles/storage.objectAdmin on the bucket',
      cause: error,
    });
  }
  if (status === 429 || status >= 500) {
    return new StorageError(
      'STORAGE_UNAVAILABLE',
      `cannot ${action} ${uri}: GCS kept answering ${status} after retries`,
      {
        hint: 'the service is overloaded or down; try again later (retries back off exponentially)',
        cause: error,
      },
    );
  }
  if (status === 412) {
    return new StorageError('STORAGE_PRECONDITION', `cannot ${action} ${uri}: it changed meanwhile (412)`, {
      cause: error,
    });
  }
  if (
    code === 'CONTENT_DOWNLOAD_MISMATCH' ||
    code === 'FILE_NO_UPLOAD' ||
    /mismatch|checksum/i.test(message)
  ) {
    return new StorageError(
      'STORAGE_CHECKSUM',
      `cannot ${action} ${uri}: checksum mismatch, data was corrupted in transit`,
      {
        hint: 'retry; if it persists, the stored object may be damaged: re-upload it',
        cause: error,
      },
    );
  }
  if (
    ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT'].includes(code) ||
    /ECONNREFUSED|ENOTFOUND|socket hang up/.test(message)
  ) {
    return new StorageError(
      'STORAGE_UNREACHABLE',
      `cannot ${action} ${uri}: storage endpoint unreachable (${code || message})`,
      {
        hint: 'check the network, or STORAGE_EMULATOR_HOST when using an emulator',
        cause: error,
      },
    );
  }
  return new StorageError('STORAGE_IO', `cannot ${action} ${uri}: ${message}`, { cause: error });
}
