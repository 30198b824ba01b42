import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultPlan, type FaultRule } from './faults.ts';
import { ApiFailure, checkPreconditions, ObjectStore, preconditionsFrom } from './object-store.ts';
import { type ApiRequest, corrupt, failureReply, jsonReply, objectResource, type Reply } from './protocol.ts';
import { Uploads } from './uploads.ts';

/** One request as the emulator saw it, for assertions such as "the SDK retried twice". */
export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentRange: string | undefined;
  bodyBytes: number;
  /** The status answered; 0 when the connection was dropped or the client aborted. */
  status: number;
  /** Why there was no normal answer, if so. */
  outcome: 'answered' | 'fault' | 'dropped' | 'aborted';
}

/**
 * An in-memory Google Cloud Storage JSON API on 127.0.0.1, implementing the calls @google-cloud/storage v7 makes
 * for core/storage: multipart and resumable uploads (chunks, status queries, 308), media download (with Range),
 * object metadata, list with prefix/delimiter/pagination, delete, rewrite (copy), bucket metadata and generation
 * preconditions. Faults can be injected (see {@link FaultRule}) and every request is logged. Test support only.
 */
export class GcsEmulator {
  readonly requests: LoggedRequest[] = [];
  private readonly faults = new FaultPlan();
  private readonly store = new ObjectStore();
  private readonly uploads = new Uploads(this.store, () => this.baseUrl);
  private server: Server | undefined;
  private baseUrl = '';

  /** Listens on a random port of 127.0.0.1 and returns the endpoint to give the SDK as `apiEndpoint`. */
  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.serve(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(error));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get endpoint(): string {
    return this.baseUrl;
  }

  createBucket(name: string): void {
    this.store.createBucket(name);
  }

  /** Seeds an object directly, bypassing the API (and its faults). */
  putObject(
    bucket: string,
    name: string,
    data: Buffer | string,
    contentType = 'application/octet-stream',
  ): void {
    this.store.createBucket(bucket);
    this.store.put(bucket, name, Buffer.from(data), contentType);
  }

  /** The stored bytes of an object, or undefined: what a reader would see, without going through the API. */
  objectData(bucket: string, name: string): Buffer | undefined {
    return this.store.peek(bucket, name)?.data;
  }

  /** Object names in a bucket, sorted: for asserting that nothing partial became visible. */
  objectNames(bucket: string): string[] {
    return this.store.names(bucket);
  }

  injectFault(rule: FaultRule): void {
    this.faults.add(rule);
  }

  injectFaults(rules: FaultRule[]): void {
    for (const rule of rules) this.faults.add(rule);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Logged requests matching a method and a path pattern, oldest first. */
  requestsTo(method: string, path: RegExp | string): LoggedRequest[] {
    return this.requests.filter(
      (r) => r.method === method && (typeof path === 'string' ? r.path.includes(path) : path.test(r.path)),
    );
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const method = (req.method ?? 'GET').toUpperCase();
    const query = Object.fromEntries(url.searchParams);
    const fault = this.faults.take({ method, path: url.pathname, query });
    const entry: LoggedRequest = {
      method,
      path: url.pathname,
      query,
      contentRange: req.headers['content-range'],
      bodyBytes: 0,
      status: 0,
      outcome: 'answered',
    };
    this.requests.push(entry);

    const dropAfter = fault?.dropConnection ? (fault.afterBytes ?? 0) : undefined;
    const { body, complete } = await readBody(req, dropAfter);
    entry.bodyBytes = body.length;
    const request: ApiRequest = {
      method,
      path: url.pathname,
      query,
      headers: req.headers,
      body,
      complete,
      fault,
    };
    if (!complete) {
      entry.outcome = dropAfter === undefined ? 'aborted' : 'dropped';
      // A resumable chunk cut off mid-body may still have been partly persisted; nothing else takes effect.
      if (method === 'PUT' && query.upload_id) this.uploads.absorbPartial(request, query.upload_id);
      req.socket.destroy();
      return;
    }
    if (fault?.status) {
      entry.outcome = 'fault';
      return this.send(
        res,
        entry,
        failureReply(new ApiFailure(fault.status, `injected fault ${fault.status}`, 'backendError')),
      );
    }

    let reply: Reply;
    try {
      reply = this.route(request);
    } catch (error) {
      if (!(error instanceof ApiFailure)) throw error;
      reply = failureReply(error);
    }
    if (fault?.dropResponse) {
      entry.outcome = 'dropped';
      res.socket?.destroy();
      return;
    }
    if (reply.media && fault?.corruptDownload && Buffer.isBuffer(reply.body)) {
      reply = { ...reply, body: corrupt(reply.body) };
    }
    this.send(res, entry, reply, fault?.dropResponseAfterBytes);
  }

  private route(request: ApiRequest): Reply {
    const { method, query } = request;
    const segments = request.path.split('/').filter(Boolean).map(decodeURIComponent);
    // /upload/storage/v1/b/{bucket}/o[?upload_id=...]
    if (segments[0] === 'upload') {
      const bucket = segments[4];
      if (bucket === undefined || segments[5] !== 'o') throw unsupported(request);
      if (query.upload_id && method === 'PUT') return this.uploads.put(request, query.upload_id);
      if (query.upload_id && method === 'DELETE') return this.uploads.cancel(query.upload_id);
      if (method === 'POST' && query.uploadType === 'multipart')
        return this.uploads.multipart(request, bucket);
      if (method === 'POST' && query.uploadType === 'resumable')
        return this.uploads.initiate(request, bucket);
      throw unsupported(request);
    }
    // /storage/v1/b/..., its media alias /download/storage/v1/b/..., and bare /b/... (STORAGE_EMULATOR_HOST style).
    const download = segments[0] === 'download';
    const api = segments.slice(download ? 3 : segments[0] === 'storage' ? 2 : 0);
    const [b, bucket, o, name, action, , destBucket, , destName] = api;
    if (b !== 'b' || bucket === undefined) throw unsupported(request);
    if (o === undefined && method === 'GET') {
      this.store.bucket(bucket);
      return jsonReply(200, { kind: 'storage#bucket', id: bucket, name: bucket, location: 'US' });
    }
    if (o !== 'o') throw unsupported(request);
    if (name === undefined && method === 'GET') return this.list(bucket, query);
    if (name === undefined) throw unsupported(request);
    if ((action === 'rewriteTo' || action === 'copyTo') && method === 'POST') {
      if (destBucket === undefined || destName === undefined) throw unsupported(request);
      return this.copy(request, bucket, name, destBucket, destName, action);
    }
    if (action !== undefined) throw unsupported(request);
    if (method === 'GET') return this.getObject(request, bucket, name, download || query.alt === 'media');
    if (method === 'DELETE') {
      this.store.delete(bucket, name, preconditionsFrom(query));
      return { status: 204, body: '' };
    }
    throw unsupported(request);
  }

  private list(bucket: string, query: Record<string, string>): Reply {
    const page = this.store.list(bucket, {
      ...(query.prefix !== undefined ? { prefix: query.prefix } : {}),
      ...(query.delimiter !== undefined ? { delimiter: query.delimiter } : {}),
      ...(query.pageToken !== undefined ? { pageToken: query.pageToken } : {}),
      ...(query.maxResults !== undefined ? { maxResults: Number(query.maxResults) } : {}),
    });
    return jsonReply(200, {
      kind: 'storage#objects',
      items: page.items.map(([name, stored]) => objectResource(this.baseUrl, bucket, name, stored)),
      ...(page.prefixes.length > 0 ? { prefixes: page.prefixes } : {}),
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
    });
  }

  private getObject(request: ApiRequest, bucket: string, name: string, media: boolean): Reply {
    const generation = request.query.generation ? Number(request.query.generation) : undefined;
    const stored = this.store.get(bucket, name, generation);
    checkPreconditions(stored, preconditionsFrom(request.query));
    if (!media) return jsonReply(200, objectResource(this.baseUrl, bucket, name, stored));
    const headers: Record<string, string> = {
      'Content-Type': stored.contentType,
      'x-goog-generation': String(stored.generation),
      'x-goog-metageneration': String(stored.metageneration),
      'x-goog-stored-content-encoding': 'identity',
      'x-goog-stored-content-length': String(stored.data.length),
      // Whole-object hashes, also on ranged reads (the SDK skips validation for those).
      'x-goog-hash': `crc32c=${stored.crc32c},md5=${stored.md5Hash}`,
      ETag: `"${stored.generation}"`,
    };
    const range = parseRange(request.headers.range, stored.data.length);
    if (range === 'unsatisfiable') {
      throw new ApiFailure(416, 'The requested range cannot be satisfied.', 'requestedRangeNotSatisfiable');
    }
    if (range) {
      headers['Content-Range'] = `bytes ${range.start}-${range.end}/${stored.data.length}`;
      return { status: 206, headers, body: stored.data.subarray(range.start, range.end + 1), media: true };
    }
    return { status: 200, headers, body: stored.data, media: true };
  }

  private copy(
    request: ApiRequest,
    bucket: string,
    name: string,
    destBucket: string,
    destName: string,
    action: string,
  ): Reply {
    const source = this.store.get(bucket, name);
    const metadata = request.body.length > 0 ? (JSON.parse(request.body.toString('utf8')) as object) : {};
    const contentType =
      (metadata as { contentType?: string }).contentType ?? source.contentType ?? 'application/octet-stream';
    const copied = this.store.put(
      destBucket,
      destName,
      source.data,
      contentType,
      preconditionsFrom(request.query),
    );
    const resource = objectResource(this.baseUrl, destBucket, destName, copied);
    if (action === 'copyTo') return jsonReply(200, resource);
    return jsonReply(200, {
      kind: 'storage#rewriteResponse',
      totalBytesRewritten: String(copied.data.length),
      objectSize: String(copied.data.length),
      done: true,
      resource,
    });
  }

  private send(res: ServerResponse, entry: LoggedRequest, reply: Reply, cutAfter?: number): void {
    const body = reply.body ?? '';
    entry.status = reply.status;
    res.writeHead(reply.status, { ...reply.headers, 'Content-Length': String(Buffer.byteLength(body)) });
    if (cutAfter === undefined) {
      res.end(body);
      return;
    }
    entry.outcome = 'dropped';
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
    res.write(bytes.subarray(0, cutAfter), () => res.socket?.destroy());
  }
}

/**
 * Reads a request body. With `dropAfter`, destroys the connection once that many bytes arrived (0: at once),
 * as a network failure would. Never rejects: `complete` says whether the body ended normally.
 */
function readBody(
  req: IncomingMessage,
  dropAfter: number | undefined,
): Promise<{ body: Buffer; complete: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let seen = 0;
    let settled = false;
    const finish = (complete: boolean) => {
      if (settled) return;
      settled = true;
      resolve({ body: Buffer.concat(chunks), complete });
    };
    if (dropAfter === 0) {
      req.socket.destroy();
      finish(false);
      return;
    }
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      chunks.push(chunk);
      seen += chunk.length;
      if (dropAfter !== undefined && seen >= dropAfter) {
        req.socket.destroy();
        finish(false);
      }
    });
    req.on('end', () => finish(dropAfter === undefined));
    req.on('error', () => finish(false));
    req.on('close', () => finish(req.complete && dropAfter === undefined));
  });
}

function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header ?? '');
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Math.min(Number(match[2]), size);
    return suffix === 0 ? 'unsatisfiable' : { start: size - suffix, end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  return start >= size || end < start ? 'unsatisfiable' : { start, end };
}

function unsupported(request: ApiRequest): ApiFailure {
  return new ApiFailure(400, `emulator: unsupported ${request.method} ${request.path}`, 'invalid');
}
