import type { IncomingHttpHeaders } from 'node:http';
import type { FaultRule } from './faults.ts';
import { crc32cBase64, md5Base64 } from './hashes.ts';
import { ApiFailure, type StoredObject } from './object-store.ts';

/** A request after its body was read (or cut off by the client or by an injected fault). */
export interface ApiRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** False when the body ended early: the client aborted or a fault dropped the connection. */
  complete: boolean;
  fault: FaultRule | undefined;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Object bytes (not JSON): download faults apply to it. */
  media?: boolean;
}

export function jsonReply(status: number, value: unknown, headers: Record<string, string> = {}): Reply {
  return {
    status,
    headers: { 'Content-Type': 'application/json; charset=UTF-8', ...headers },
    body: JSON.stringify(value),
  };
}

export function failureReply(error: ApiFailure): Reply {
  return jsonReply(error.status, {
    error: {
      code: error.status,
      message: error.message,
      errors: [{ message: error.message, domain: 'global', reason: error.reason }],
    },
  });
}

/** The JSON resource GCS returns for an object; md5Hash and crc32c are what the SDK validates transfers against. */
export function objectResource(baseUrl: string, bucket: string, name: string, stored: StoredObject) {
  const encoded = encodeURIComponent(name);
  return {
    kind: 'storage#object',
    id: `${bucket}/${name}/${stored.generation}`,
    selfLink: `${baseUrl}/storage/v1/b/${bucket}/o/${encoded}`,
    mediaLink: `${baseUrl}/download/storage/v1/b/${bucket}/o/${encoded}?generation=${stored.generation}&alt=media`,
    name,
    bucket,
    generation: String(stored.generation),
    metageneration: String(stored.metageneration),
    contentType: stored.contentType,
    storageClass: 'STANDARD',
    size: String(stored.data.length),
    md5Hash: stored.md5Hash,
    crc32c: stored.crc32c,
    etag: `${stored.generation}`,
    timeCreated: stored.created,
    updated: stored.created,
  };
}

/** Parses `X-Goog-Hash: crc32c=...,md5=...` (base64 values contain `=`, so split at the first one only). */
export function parseGoogHash(header: string | string[] | undefined): { crc32c?: string; md5?: string } {
  const out: { crc32c?: string; md5?: string } = {};
  for (const pair of String(header ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at < 0) continue;
    const key = pair.slice(0, at).trim().toLowerCase();
    if (key === 'crc32c' || key === 'md5') out[key] = pair.slice(at + 1).trim();
  }
  return out;
}

/** Flips one byte, the smallest corruption a checksum must catch. */
export function corrupt(data: Buffer): Buffer {
  if (data.length === 0) return data;
  const copy = Buffer.from(data);
  const middle = copy.length >> 1;
  copy[middle] = copy[middle]! ^ 0xff;
  return copy;
}

/** Rejects media whose hashes differ from what the client declared, before anything is stored (as GCS does). */
export function verifyDeclaredHashes(
  data: Buffer,
  declared: { crc32c?: string | undefined; md5?: string | undefined },
): void {
  const actual = { crc32c: crc32cBase64(data), md5Hash: md5Base64(data) };
  if (declared.crc32c !== undefined && declared.crc32c !== actual.crc32c) {
    throw new ApiFailure(
      400,
      `Provided CRC32C "${declared.crc32c}" doesn't match calculated CRC32C "${actual.crc32c}".`,
      'invalid',
    );
  }
  if (declared.md5 !== undefined && declared.md5 !== actual.md5Hash) {
    throw new ApiFailure(
      400,
      `Provided MD5 hash "${declared.md5}" doesn't match calculated MD5 hash "${actual.md5Hash}".`,
      'invalid',
    );
  }
}
