import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { CRC32C, type File, type Storage as GcsClient } from '@google-cloud/storage';
import { StorageError } from '../errors.ts';
import { createGcsClient, type GcsOptions, type GcsSettings, gcsSettings } from './gcs-client.ts';
import { mapGcsError } from './gcs-errors.ts';
import type { StorageEntry, WriteOptions } from './types.ts';

/**
 * Google Cloud Storage backend on the official SDK.
 * - Integrity: every upload we hold in memory declares its CRC32C and MD5 in the upload metadata, so GCS itself
 *   rejects corrupted bytes before the object exists; streamed uploads are checked by the SDK after the fact (it
 *   deletes a mismatching object). Downloads are checked against the stored CRC32C.
 * - Atomicity: an object becomes visible only when its upload is finalized, so an interrupted or failed upload
 *   leaves nothing (and an older version stays intact).
 * - Retries: 408/429/5xx and dropped connections are retried with exponential backoff (see gcs-client.ts);
 *   resumable uploads resume from the last byte the server confirmed.
 */
export class GcsBackend {
  private readonly client: GcsClient;
  private readonly settings: GcsSettings;
  private readonly retryDelay: (attempt: number) => number;

  constructor(options: GcsOptions = {}) {
    this.settings = gcsSettings(options);
    this.client = createGcsClient(options);
    const multiplier = options.retry?.retryDelayMultiplier ?? 2;
    const capMs = Math.max(1, options.retry?.maxRetryDelaySeconds ?? 32) * 1000;
    // Our own retries (downloads cut short or corrupted) start small: the bytes are simply fetched again.
    this.retryDelay = (attempt) => Math.min(capMs, 250 * multiplier ** attempt);
  }

  async read(bucket: string, key: string): Promise<Buffer> {
    const uri = gcsUri(bucket, key);
    return this.retryingDownload(uri, async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of this.download(bucket, key, undefined)) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    });
  }

  async readStream(bucket: string, key: string): Promise<Readable> {
    const uri = gcsUri(bucket, key);
    // Metadata first: a missing object fails here, clearly, instead of later inside the caller's pipeline; and the
    // stream then reads exactly that generation even if the object is replaced meanwhile.
    let generation: number | undefined;
    try {
      const [metadata] = await this.file(bucket, key).getMetadata();
      generation = metadata.generation === undefined ? undefined : Number(metadata.generation);
    } catch (error) {
      throw mapGcsError(error, uri, 'read');
    }
    return this.download(bucket, key, generation);
  }

  async write(
    bucket: string,
    key: string,
    data: Buffer | Uint8Array | string,
    options: WriteOptions = {},
  ): Promise<void> {
    const uri = gcsUri(bucket, key);
    const bytes = toBuffer(data);
    const crc32c = crc32cOf(bytes);
    const resumable = bytes.length >= this.settings.resumableThreshold;
    try {
      await this.file(bucket, key).save(bytes, {
        resumable,
        ...(resumable ? { chunkSize: this.settings.chunkSize } : {}),
        validation: 'crc32c',
        // Declared hashes make GCS verify the bytes before it finalizes the object (400 otherwise).
        metadata: {
          ...(options.contentType ? { contentType: options.contentType } : {}),
          // Lets every chunk of a resumable session state the total, so the server knows the end up front.
          ...(resumable ? { contentLength: bytes.length } : {}),
          crc32c,
          md5Hash: createHash('md5').update(bytes).digest('base64'),
        },
        ...(options.ifNotExists ? { preconditionOpts: { ifGenerationMatch: 0 } } : {}),
      });
    } catch (error) {
      const mapped = mapGcsError(error, uri, 'write');
      if (options.ifNotExists && mapped.code === 'STORAGE_PRECONDITION') {
        // A create-only upload whose response was lost is retried and then meets its own object (or one with the
        // very same bytes): the caller's intent holds, so that is success.
        if (await this.holds(bucket, key, bytes.length, crc32c)) return;
        throw alreadyExists(uri, error);
      }
      throw mapped;
    }
  }

  /**
   * Streams an upload. The first `resumableThresholdBytes` are buffered: a stream that ends within them is written
   * like a buffer (one request, hashes verified by GCS); a longer one goes through a resumable session in chunks.
   */
  async writeStream(
    bucket: string,
    key: string,
    source: Readable | AsyncIterable<Uint8Array>,
    options: WriteOptions = {},
  ): Promise<void> {
    const uri = gcsUri(bucket, key);
    const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Uint8Array | string>;
    const head: Buffer[] = [];
    let size = 0;
    let ended = false;
    try {
      while (!ended && size < this.settings.resumableThreshold) {
        const next = await iterator.next();
        if (next.done) ended = true;
        else {
          const chunk = toBuffer(next.value);
          head.push(chunk);
          size += chunk.length;
        }
      }
    } catch (error) {
      await iterator.return?.().catch(() => undefined);
      throw mapGcsError(error, uri, 'write');
    }
    if (ended) return this.write(bucket, key, Buffer.concat(head), options);
    const sink = this.file(bucket, key).createWriteStream({
      resumable: true,
      chunkSize: this.settings.chunkSize,
      validation: 'crc32c',
      ...(options.contentType ? { metadata: { contentType: options.contentType } } : {}),
      ...(options.ifNotExists ? { preconditionOpts: { ifGenerationMatch: 0 } } : {}),
    });
    try {
      await pipeline(Readable.from(concatIterator(head, iterator)), sink);
    } catch (error) {
      const mapped = mapGcsError(error, uri, 'write');
      if (options.ifNotExists && mapped.code === 'STORAGE_PRECONDITION') throw alreadyExists(uri, error);
      throw mapped;
    }
  }

  /** Every object whose name starts with `prefix`, across as many list pages as it takes. */
  async list(bucket: string, prefix: string): Promise<StorageEntry[]> {
    const entries: StorageEntry[] = [];
    let pageToken: string | undefined;
    try {
      do {
        const [files, next] = await this.client.bucket(bucket).getFiles({
          prefix,
          autoPaginate: false,
          maxResults: this.settings.pageSize,
          ...(pageToken ? { pageToken } : {}),
        });
        for (const file of files) {
          entries.push({
            uri: gcsUri(bucket, file.name),
            relativePath: file.name.slice(prefix.length),
            size: Number(file.metadata.size ?? 0),
          });
        }
        pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken;
      } while (pageToken);
    } catch (error) {
      throw mapGcsError(error, gcsUri(bucket, prefix), 'list');
    }
    return entries.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
  }

  async exists(bucket: string, key: string): Promise<boolean> {
    try {
      const [found] = await this.file(bucket, key).exists();
      return found;
    } catch (error) {
      throw mapGcsError(error, gcsUri(bucket, key), 'check');
    }
  }

  async delete(bucket: string, key: string): Promise<void> {
    try {
      await this.file(bucket, key).delete({ ignoreNotFound: true });
    } catch (error) {
      throw mapGcsError(error, gcsUri(bucket, key), 'delete');
    }
  }

  /** Server-side copy (the rewrite API): the bytes never travel through this process. */
  async copy(fromBucket: string, fromKey: string, toBucket: string, toKey: string): Promise<void> {
    try {
      await this.file(fromBucket, fromKey).copy(this.client.bucket(toBucket).file(toKey));
    } catch (error) {
      throw mapGcsError(error, `${gcsUri(fromBucket, fromKey)} to ${gcsUri(toBucket, toKey)}`, 'copy');
    }
  }

  /**
   * The object's bytes, CRC32C-checked, errors mapped. A watchdog fails the download when no byte arrives for
   * `stallTimeoutMs` while the reader wants more: the SDK's HTTP client (node-fetch 2) never ends or fails a body
   * whose connection dropped mid-way, so without it a read hangs forever.
   */
  private download(bucket: string, key: string, generation: number | undefined): Readable {
    const uri = gcsUri(bucket, key);
    const source = this.client
      .bucket(bucket)
      .file(key, generation === undefined ? {} : { generation })
      .createReadStream({ validation: 'crc32c' });
    const out = new PassThrough();
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        // A slow reader is not a stalled network: wait for it.
        if (out.writableNeedDrain) return arm();
        const seconds = this.settings.stallTimeoutMs / 1000;
        const stall = Object.assign(new Error(`no data for ${seconds} s, the connection stalled`), {
          code: 'ETIMEDOUT',
        });
        source.destroy(stall);
      }, this.settings.stallTimeoutMs);
    };
    // Armed from the response on: before it, the SDK may be waiting out a retry backoff.
    source.once('response', arm);
    source.on('data', arm);
    source.on('error', (error) => {
      clearTimeout(timer);
      out.destroy(mapGcsError(error, uri, 'read'));
    });
    source.on('end', () => clearTimeout(timer));
    out.on('close', () => {
      clearTimeout(timer);
      source.destroy();
    });
    source.pipe(out);
    return out;
  }

  private file(bucket: string, key: string): File {
    return this.client.bucket(bucket).file(key);
  }

  /** Whether the object holds exactly these bytes (same size and CRC32C). */
  private async holds(bucket: string, key: string, size: number, crc32c: string): Promise<boolean> {
    try {
      const [metadata] = await this.file(bucket, key).getMetadata();
      return Number(metadata.size) === size && metadata.crc32c === crc32c;
    } catch {
      return false;
    }
  }

  /**
   * The SDK retries a download that fails before its body starts; one cut short mid-body or failing its checksum
   * is retried here, from the start, so `read` either returns verified bytes or fails.
   */
  private async retryingDownload<T>(uri: string, attempt: () => Promise<T>): Promise<T> {
    for (let n = 0; ; n += 1) {
      try {
        return await attempt();
      } catch (error) {
        const mapped = mapGcsError(error, uri, 'read');
        const transient = mapped.code === 'STORAGE_CHECKSUM' || mapped.code === 'STORAGE_UNREACHABLE';
        if (!transient || n >= this.settings.maxRetries || alreadyRetried(error)) throw mapped;
        await sleep(this.retryDelay(n));
      }
    }
  }
}

function gcsUri(bucket: string, key: string): string {
  return `gs://${bucket}/${key}`;
}

function toBuffer(data: Buffer | Uint8Array | string): Buffer {
  if (typeof data === 'string') return Buffer.from(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function crc32cOf(data: Buffer): string {
  const crc = new CRC32C();
  crc.update(data);
  return crc.toString();
}

/**
 * Failures to connect at all (refused, DNS) already went through the SDK's retries before any byte flowed;
 * repeating them here would only multiply the waits.
 */
function alreadyRetried(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

function alreadyExists(uri: string, cause: unknown): StorageError {
  return new StorageError('STORAGE_EXISTS', `cannot create ${uri}: it already exists`, {
    hint: 'this write must not replace an existing object; pick a new name or delete the old one first',
    cause,
  });
}

/** The buffered head of a stream, then the rest of it; closing early closes the source too. */
async function* concatIterator(
  head: Buffer[],
  rest: AsyncIterator<Uint8Array | string>,
): AsyncGenerator<Buffer> {
  let finished = false;
  try {
    yield* head;
    for (;;) {
      const next = await rest.next();
      if (next.done) {
        finished = true;
        return;
      }
      yield toBuffer(next.value);
    }
  } finally {
    if (!finished) await rest.return?.();
  }
}
