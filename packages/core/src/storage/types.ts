import type { Readable } from 'node:stream';

/** One object found under a prefix. `uri` is absolute (a path, `file://` URL or `gs://` URI, like the prefix). */
export interface StorageEntry {
  uri: string;
  /** Path relative to the listed prefix, always with `/` separators. */
  relativePath: string;
  size: number;
}

export interface WriteOptions {
  contentType?: string;
  /**
   * Create only: fail with `STORAGE_EXISTS` when the target already exists instead of replacing it (GCS:
   * `ifGenerationMatch: 0`; local: an atomic hard link). For artifacts that must never be overwritten, such as a
   * published version.
   */
  ifNotExists?: boolean;
}

/**
 * One URI-based API for artifacts and data. Local paths and `file://` URIs go to the local disk
 * (atomic: temp file + rename); `gs://bucket/prefix` goes to Google Cloud Storage.
 * Every package reads and writes through this; nobody calls `fs` or the GCS SDK for artifacts directly.
 */
export interface Storage {
  /** The whole object, integrity-checked on GCS. Missing: `STORAGE_NOT_FOUND` naming the URI. */
  read(uri: string): Promise<Buffer>;
  /** A stream of the object; a missing object rejects here, before any streaming starts. */
  readStream(uri: string): Promise<Readable>;
  /** Replaces (or, with `ifNotExists`, creates) the object atomically: readers see the old or the new bytes. */
  write(uri: string, data: Buffer | Uint8Array | string, options?: WriteOptions): Promise<void>;
  /** Like `write`, from a stream; a source that fails midway leaves nothing new visible. */
  writeStream(
    uri: string,
    source: Readable | AsyncIterable<Uint8Array>,
    options?: WriteOptions,
  ): Promise<void>;
  /** Every object under a prefix (recursively, as if the prefix ended in `/`), sorted by uri. */
  list(prefixUri: string): Promise<StorageEntry[]>;
  exists(uri: string): Promise<boolean>;
  /** Deletes one object; deleting a missing object is not an error. */
  delete(uri: string): Promise<void>;
  /** Deletes every object under a prefix. */
  deleteTree(prefixUri: string): Promise<void>;
  /** Copies every object under `fromPrefix` to the same relative path under `toPrefix`, across backends too. */
  copyTree(fromPrefix: string, toPrefix: string): Promise<void>;
}
