import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultPlan, type FaultRule } from './faults.ts';
import { crc32cBase64, md5Base64 } from './hashes.ts';
import { parseMultipartRelated } from './multipart.ts';

/**
 * An in-memory Google Cloud Storage JSON API on 127.0.0.1, implementing the calls @google-cloud/storage v7 makes
 * for our storage module: multipart and resumable uploads, media download (with Range), object metadata, list with
 * prefix/delimiter/pagination, delete, rewrite (copy) and generation preconditions. Faults (5xx/429, dropped
 * connections, corrupted bodies) can be injected, and every request is logged so tests can assert retries.
 * Test support only: product code never imports it.
 */
interface StoredObject {
  data: Buffer;
  generation: number;
  contentType: string;
  updated: string;
}

interface UploadSession {
  bucket: string;
  name: string;
  contentType: string;
  ifGenerationMatch: number | undefined;
  chunks: Buffer[];
  received: number;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
}

export class GcsEmulator {
  readonly requests: LoggedRequest[] = [];
  private readonly faults = new FaultPlan();
  private readonly buckets = new Map<string, Map<string, StoredObject>>();
  private readonly uploads = new Map<string, UploadSession>();
  private server: Server | undefined;
  private nextGeneration = 1_700_000_000_000_000;
  private baseUrl = '';

  /** Starts listening on a random port of 127.0.0.1; returns the API endpoint for the SDK. */
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) this.json(req, res, 500, { error: { code: 500, message: String(error) } });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${port}`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  get endpoint(): string {
    return this.baseUrl;
  }

  createBucket(name: string): void {
    if (!this.buckets.has(name)) this.buckets.set(name, new Map());
  }

  injectFault(rule: FaultRule): void {
    this.faults.add(rule);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Object names in a bucket, for assertions that nothing partial became visible. */
  objectNames(bucket: string): string[] {
    return [...(this.buckets.get(bucket)?.keys() ?? [])].sort();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const method = req.method ?? 'GET';
    const fault = this.faults.take(method, url.pathname);
    if (fault?.dropConnectionAfterBytes !== undefined)
      return this.dropAfter(req, res, fault.dropConnectionAfterBytes, url);
    if (fault?.status) {
      await readBody(req);
      return this.json(req, res, fault.status, { error: { code: fault.status, message: 'injected fault' } });
    }
    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const query = Object.fromEntries(url.searchParams);
    // /upload/storage/v1/b/{bucket}/o
    if (segments[0] === 'upload' && segments[4] !== undefined) {
      const bucket = segments[4];
      if (method === 'POST' && query.uploadType === 'multipart')
        return this.multipartUpload(req, res, bucket, query);
      if (method === 'POST' && query.uploadType === 'resumable')
        return this.startResumable(req, res, bucket, query);
      if (method === 'PUT' && query.upload_id) return this.putResumable(req, res, query.upload_id);
    }
    // /download/storage/v1/b/{bucket}/o/{object} is the media-only alias of ?alt=media
    const api = segments[0] === 'download' ? segments.slice(1) : segments;
    if (api[0] === 'storage' && api[1] === 'v1' && api[2] === 'b' && api[3] !== undefined) {
      const bucket = api[3];
      const objects = this.buckets.get(bucket);
      if (!objects)
        return this.json(req, res, 404, { error: { code: 404, message: `bucket ${bucket} not found` } });
      if (api.length === 4 && method === 'GET')
        return this.json(req, res, 200, { kind: 'storage#bucket', name: bucket, id: bucket });
      if (api.length === 5 && api[4] === 'o' && method === 'GET')
        return this.list(req, res, bucket, objects, query);
      const name = api[5];
      if (api[4] === 'o' && name !== undefined) {
        if (api[6] === 'rewriteTo' || api[6] === 'copyTo')
          return this.copy(req, res, bucket, name, api[8]!, api[10]!, query);
        if (method === 'GET')
          return this.getObject(req, res, bucket, name, query, segments[0] === 'download', fault);
        if (method === 'DELETE') return this.deleteObject(req, res, bucket, name, query);
      }
    }
    await readBody(req);
    this.json(req, res, 400, {
      error: { code: 400, message: `emulator: unsupported ${method} ${url.pathname}` },
    });
  }

  private async multipartUpload(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    query: Record<string, string>,
  ) {
    const body = await readBody(req);
    const parts = parseMultipartRelated(req.headers['content-type'] ?? '', body);
    const metadata = JSON.parse(parts[0]?.body.toString('utf8') || '{}') as {
      name?: string;
      contentType?: string;
    };
    const name = query.name ?? metadata.name;
    if (!name || !parts[1])
      return this.json(req, res, 400, { error: { code: 400, message: 'bad multipart upload' } });
    const contentType = metadata.contentType ?? parts[1].contentType ?? 'application/octet-stream';
    this.finalize(
      req,
      res,
      bucket,
      name,
      parts[1].body,
      contentType,
      numberOrUndefined(query.ifGenerationMatch),
    );
  }

  private async startResumable(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    query: Record<string, string>,
  ) {
    const body = await readBody(req);
    const metadata =
      body.length > 0 ? (JSON.parse(body.toString('utf8')) as { name?: string; contentType?: string }) : {};
    const name = query.name ?? metadata.name;
    if (!name) return this.json(req, res, 400, { error: { code: 400, message: 'missing object name' } });
    const id = randomUUID();
    this.uploads.set(id, {
      bucket,
      name,
      contentType:
        metadata.contentType ?? String(req.headers['x-upload-content-type'] ?? 'application/octet-stream'),
      ifGenerationMatch: numberOrUndefined(query.ifGenerationMatch),
      chunks: [],
      received: 0,
    });
    res.setHeader(
      'Location',
      `${this.baseUrl}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&upload_id=${id}`,
    );
    this.json(req, res, 200, {});
  }

  private async putResumable(req: IncomingMessage, res: ServerResponse, id: string) {
    const session = this.uploads.get(id);
    const body = await readBody(req);
    if (!session)
      return this.json(req, res, 404, { error: { code: 404, message: 'no such upload session' } });
    // Content-Range: "bytes START-END/TOTAL", "bytes START-*/TOTAL" or "bytes */TOTAL" (status query); TOTAL may be *.
    const match = /^bytes (?:(\d+)-(\d+|\*)|\*)\/(\d+|\*)$/.exec(String(req.headers['content-range'] ?? ''));
    if (!match) return this.json(req, res, 400, { error: { code: 400, message: 'bad Content-Range' } });
    const start = match[1] === undefined ? undefined : Number(match[1]);
    const total = match[3] === '*' ? undefined : Number(match[3]);
    if (start !== undefined && body.length > 0) {
      if (start > session.received)
        return this.json(req, res, 400, { error: { code: 400, message: 'gap in upload' } });
      const fresh = body.subarray(session.received - start);
      session.chunks.push(fresh);
      session.received += fresh.length;
    }
    // "bytes N-*/*" is a single-request upload of unknown size: its body runs to the end of the object.
    const bodyEndsObject = match[2] === '*';
    if (bodyEndsObject || (total !== undefined && session.received >= total)) {
      this.uploads.delete(id);
      return this.finalize(
        req,
        res,
        session.bucket,
        session.name,
        Buffer.concat(session.chunks),
        session.contentType,
        session.ifGenerationMatch,
      );
    }
    if (session.received > 0) res.setHeader('Range', `bytes=0-${session.received - 1}`);
    this.reply(req, res, 308, '');
  }

  private finalize(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    name: string,
    data: Buffer,
    contentType: string,
    ifGenerationMatch: number | undefined,
  ) {
    const objects = this.buckets.get(bucket);
    if (!objects)
      return this.json(req, res, 404, { error: { code: 404, message: `bucket ${bucket} not found` } });
    const existing = objects.get(name);
    if (ifGenerationMatch !== undefined && (existing?.generation ?? 0) !== ifGenerationMatch) {
      return this.json(req, res, 412, { error: { code: 412, message: 'Precondition Failed' } });
    }
    const stored = {
      data,
      contentType,
      generation: this.nextGeneration++,
      updated: new Date().toISOString(),
    };
    objects.set(name, stored);
    this.json(req, res, 200, this.metadata(bucket, name, stored));
  }

  private list(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    objects: Map<string, StoredObject>,
    query: Record<string, string>,
  ) {
    const prefix = query.prefix ?? '';
    const names = [...objects.keys()].filter((n) => n.startsWith(prefix)).sort();
    const items: string[] = [];
    const prefixes = new Set<string>();
    for (const name of names) {
      const rest = name.slice(prefix.length);
      const cut = query.delimiter ? rest.indexOf(query.delimiter) : -1;
      if (cut >= 0) prefixes.add(prefix + rest.slice(0, cut + query.delimiter!.length));
      else items.push(name);
    }
    const start = query.pageToken ? Number(Buffer.from(query.pageToken, 'base64url').toString()) : 0;
    const pageSize = Math.min(Number(query.maxResults ?? 1000), 1000);
    const page = items.slice(start, start + pageSize);
    const next =
      start + pageSize < items.length
        ? Buffer.from(String(start + pageSize)).toString('base64url')
        : undefined;
    this.json(req, res, 200, {
      kind: 'storage#objects',
      items: page.map((name) => this.metadata(bucket, name, objects.get(name)!)),
      ...(prefixes.size > 0 && start === 0 ? { prefixes: [...prefixes] } : {}),
      ...(next ? { nextPageToken: next } : {}),
    });
  }

  private getObject(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    name: string,
    query: Record<string, string>,
    mediaPath: boolean,
    fault: FaultRule | undefined,
  ) {
    const stored = this.buckets.get(bucket)?.get(name);
    if (!stored)
      return this.json(req, res, 404, { error: { code: 404, message: `No such object: ${bucket}/${name}` } });
    if (query.alt !== 'media' && !mediaPath)
      return this.json(req, res, 200, this.metadata(bucket, name, stored));
    let body = stored.data;
    if (fault?.corruptBody && body.length > 0) {
      body = Buffer.from(body);
      body[0] = body[0]! ^ 0xff;
    }
    res.setHeader('Content-Type', stored.contentType);
    res.setHeader('x-goog-generation', String(stored.generation));
    res.setHeader('x-goog-stored-content-encoding', 'identity');
    res.setHeader('x-goog-hash', `crc32c=${crc32cBase64(stored.data)},md5=${md5Base64(stored.data)}`);
    const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''));
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
      res.setHeader('Content-Range', `bytes ${start}-${end}/${body.length}`);
      return this.reply(req, res, 206, body.subarray(start, end + 1));
    }
    this.reply(req, res, 200, body);
  }

  private deleteObject(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    name: string,
    query: Record<string, string>,
  ) {
    const objects = this.buckets.get(bucket)!;
    const stored = objects.get(name);
    if (!stored)
      return this.json(req, res, 404, { error: { code: 404, message: `No such object: ${bucket}/${name}` } });
    const expected = numberOrUndefined(query.ifGenerationMatch);
    if (expected !== undefined && expected !== stored.generation) {
      return this.json(req, res, 412, { error: { code: 412, message: 'Precondition Failed' } });
    }
    objects.delete(name);
    this.reply(req, res, 204, '');
  }

  private async copy(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    name: string,
    destBucket: string,
    destName: string,
    query: Record<string, string>,
  ) {
    await readBody(req);
    const stored = this.buckets.get(bucket)?.get(name);
    if (!stored)
      return this.json(req, res, 404, { error: { code: 404, message: `No such object: ${bucket}/${name}` } });
    const target = this.buckets.get(destBucket);
    if (!target)
      return this.json(req, res, 404, { error: { code: 404, message: `bucket ${destBucket} not found` } });
    const copy = { ...stored, generation: this.nextGeneration++, updated: new Date().toISOString() };
    const expected = numberOrUndefined(query.ifGenerationMatch);
    if (expected !== undefined && (target.get(destName)?.generation ?? 0) !== expected) {
      return this.json(req, res, 412, { error: { code: 412, message: 'Precondition Failed' } });
    }
    target.set(destName, copy);
    const resource = this.metadata(destBucket, destName, copy);
    this.json(req, res, 200, {
      kind: 'storage#rewriteResponse',
      done: true,
      totalBytesRewritten: String(copy.data.length),
      objectSize: String(copy.data.length),
      resource,
    });
  }

  private metadata(bucket: string, name: string, stored: StoredObject) {
    return {
      kind: 'storage#object',
      id: `${bucket}/${name}/${stored.generation}`,
      bucket,
      name,
      generation: String(stored.generation),
      metageneration: '1',
      contentType: stored.contentType,
      size: String(stored.data.length),
      md5Hash: md5Base64(stored.data),
      crc32c: crc32cBase64(stored.data),
      updated: stored.updated,
      timeCreated: stored.updated,
    };
  }

  private async dropAfter(req: IncomingMessage, res: ServerResponse, bytes: number, url: URL) {
    this.log(req, url, 0);
    let seen = 0;
    if (bytes === 0) {
      req.socket.destroy();
      return;
    }
    req.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen >= bytes) req.socket.destroy();
    });
    req.on('end', () => res.socket?.destroy());
  }

  private json(req: IncomingMessage, res: ServerResponse, status: number, body: unknown) {
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    this.reply(req, res, status, JSON.stringify(body));
  }

  private reply(req: IncomingMessage, res: ServerResponse, status: number, body: string | Buffer) {
    this.log(req, new URL(req.url ?? '/', this.baseUrl), status);
    res.statusCode = status;
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.end(body);
  }

  private log(req: IncomingMessage, url: URL, status: number) {
    this.requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status,
    });
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function numberOrUndefined(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}
