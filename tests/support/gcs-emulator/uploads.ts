import { randomUUID } from 'node:crypto';
import { parseMultipartRelated } from './multipart.ts';
import {
  ApiFailure,
  checkPreconditions,
  type ObjectStore,
  type Preconditions,
  preconditionsFrom,
  type StoredObject,
} from './object-store.ts';
import {
  type ApiRequest,
  corrupt,
  jsonReply,
  objectResource,
  parseGoogHash,
  type Reply,
  verifyDeclaredHashes,
} from './protocol.ts';

/** GCS persists resumable data in 256 KiB units; the SDK's chunk sizes are multiples of it. */
const PERSIST_UNIT = 256 * 1024;

interface UploadMetadata {
  name?: string;
  contentType?: string;
  crc32c?: string;
  md5Hash?: string;
}

interface Session {
  bucket: string;
  name: string;
  contentType: string;
  preconditions: Preconditions;
  declared: { crc32c?: string | undefined; md5?: string | undefined };
  chunks: Buffer[];
  received: number;
  finalized: StoredObject | undefined;
}

/** Simple (multipart/related) uploads and resumable upload sessions. */
export class Uploads {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly store: ObjectStore,
    private readonly baseUrl: () => string,
  ) {}

  /** `POST /upload/storage/v1/b/{bucket}/o?uploadType=multipart`: JSON metadata part, then the media part. */
  multipart(request: ApiRequest, bucket: string): Reply {
    const parts = parseMultipartRelated(String(request.headers['content-type'] ?? ''), request.body);
    const metadata = parseMetadata(parts[0]?.body);
    const media = parts[1];
    const name = request.query.name ?? metadata.name;
    if (!name || !media)
      throw new ApiFailure(400, 'Multipart upload needs metadata and media parts', 'invalid');
    const data = request.fault?.corruptUpload ? corrupt(media.body) : media.body;
    verifyDeclaredHashes(data, { crc32c: metadata.crc32c, md5: metadata.md5Hash });
    const contentType = metadata.contentType ?? media.contentType ?? 'application/octet-stream';
    const stored = this.store.put(bucket, name, data, contentType, preconditionsFrom(request.query));
    return jsonReply(200, objectResource(this.baseUrl(), bucket, name, stored));
  }

  /** `POST ...?uploadType=resumable`: checks the bucket and preconditions now, answers the session URI. */
  initiate(request: ApiRequest, bucket: string): Reply {
    const metadata = parseMetadata(request.body);
    const name = request.query.name ?? metadata.name;
    if (!name) throw new ApiFailure(400, 'Resumable upload needs an object name', 'required');
    const preconditions = preconditionsFrom(request.query);
    this.store.bucket(bucket);
    checkPreconditions(this.store.peek(bucket, name), preconditions);
    const id = randomUUID();
    this.sessions.set(id, {
      bucket,
      name,
      contentType:
        metadata.contentType ??
        String(request.headers['x-upload-content-type'] ?? 'application/octet-stream'),
      preconditions,
      declared: { crc32c: metadata.crc32c, md5: metadata.md5Hash },
      chunks: [],
      received: 0,
      finalized: undefined,
    });
    const location = `${this.baseUrl()}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
    return jsonReply(200, {}, { Location: location });
  }

  /**
   * `PUT {session URI}` with `Content-Range`: `bytes S-E/T` (a chunk; `T` may be `*` until the last one),
   * `bytes S-*\/T` (the rest of the object in this body) or `bytes *\/T` (a status query). Answers 308 with the
   * persisted `Range` until the object is complete, then finalizes it: only then does it become visible.
   */
  put(request: ApiRequest, id: string): Reply {
    const session = this.session(id);
    if (session.finalized) return this.finalReply(session);
    const range = parseContentRange(request.headers['content-range']);
    if (range.start !== undefined) {
      if (range.start > session.received) {
        throw new ApiFailure(
          400,
          `Chunk starts at ${range.start} but only ${session.received} bytes were persisted`,
          'invalid',
        );
      }
      const body = request.fault?.corruptUpload ? corrupt(request.body) : request.body;
      this.append(session, body.subarray(session.received - range.start));
    }
    const total = range.total ?? (range.toEnd ? session.received : undefined);
    if (total !== undefined && session.received > total) {
      throw new ApiFailure(400, `Received ${session.received} bytes for an object of ${total}`, 'invalid');
    }
    if (total !== undefined && session.received === total) {
      const data = Buffer.concat(session.chunks);
      try {
        verifyDeclaredHashes(data, { ...session.declared, ...parseGoogHash(request.headers['x-goog-hash']) });
        session.finalized = this.store.put(
          session.bucket,
          session.name,
          data,
          session.contentType,
          session.preconditions,
        );
      } catch (error) {
        this.sessions.delete(id);
        throw error;
      }
      return this.finalReply(session);
    }
    return {
      status: 308,
      headers: session.received > 0 ? { Range: `bytes=0-${session.received - 1}` } : {},
      body: '',
    };
  }

  /** A chunk cut off mid-body: like GCS, keep what arrived in whole 256 KiB units and drop the rest. */
  absorbPartial(request: ApiRequest, id: string): void {
    const session = this.sessions.get(id);
    const range = parseContentRange(request.headers['content-range']);
    if (!session || session.finalized || range.start === undefined || range.start > session.received) return;
    const fresh = request.body.subarray(session.received - range.start);
    const keep =
      Math.floor((session.received + fresh.length) / PERSIST_UNIT) * PERSIST_UNIT - session.received;
    if (keep > 0) this.append(session, fresh.subarray(0, keep));
  }

  /** `DELETE {session URI}` cancels an upload (GCS answers 499). */
  cancel(id: string): Reply {
    this.session(id);
    this.sessions.delete(id);
    return jsonReply(499, {});
  }

  private session(id: string): Session {
    const session = this.sessions.get(id);
    if (!session) throw new ApiFailure(404, `No such upload session: ${id}`, 'notFound');
    return session;
  }

  private append(session: Session, data: Buffer): void {
    if (data.length === 0) return;
    session.chunks.push(Buffer.from(data));
    session.received += data.length;
  }

  private finalReply(session: Session): Reply {
    return jsonReply(200, objectResource(this.baseUrl(), session.bucket, session.name, session.finalized!));
  }
}

function parseMetadata(body: Buffer | undefined): UploadMetadata {
  if (!body || body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8')) as UploadMetadata;
  } catch {
    throw new ApiFailure(400, 'Upload metadata is not valid JSON', 'parseError');
  }
}

function parseContentRange(header: string | string[] | undefined): {
  start?: number;
  toEnd: boolean;
  total?: number;
} {
  const match = /^bytes (?:(\d+)-(\d+|\*)|\*)\/(\d+|\*)$/.exec(String(header ?? ''));
  if (!match) throw new ApiFailure(400, `Bad Content-Range '${String(header ?? '')}'`, 'invalid');
  return {
    ...(match[1] === undefined ? {} : { start: Number(match[1]) }),
    toEnd: match[2] === '*',
    ...(match[3] === '*' ? {} : { total: Number(match[3]) }),
  };
}
