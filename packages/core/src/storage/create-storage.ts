import type { Readable } from 'node:stream';
import { GcsBackend, type GcsOptions } from './gcs-storage.ts';
import { LocalBackend } from './local-storage.ts';
import type { Storage, StorageEntry, WriteOptions } from './types.ts';
import { joinUri, parseUri } from './uri.ts';

export interface StorageOptions {
  gcs?: GcsOptions;
}

/**
 * The product's one storage API: routes each URI to the local or GCS backend by its scheme. The GCS client is made
 * on first use, so commands that only touch local files never load credentials.
 */
export function createStorage(options: StorageOptions = {}): Storage {
  const local = new LocalBackend();
  let gcs: GcsBackend | undefined;
  const gcsBackend = () => {
    gcs ??= new GcsBackend(options.gcs);
    return gcs;
  };
  // Methods are async so a bad URI rejects like any other failure instead of throwing synchronously.
  /** GCS has no directories: a listed prefix `data` means everything under `data/`. */
  const directoryPrefix = (key: string) => (key === '' || key.endsWith('/') ? key : `${key}/`);

  const storage: Storage = {
    async read(uri) {
      const target = parseUri(uri);
      return target.kind === 'local' ? local.read(target.path) : gcsBackend().read(target.bucket, target.key);
    },
    async readStream(uri): Promise<Readable> {
      const target = parseUri(uri);
      return target.kind === 'local'
        ? local.readStream(target.path)
        : gcsBackend().readStream(target.bucket, target.key);
    },
    async write(uri, data, writeOptions?: WriteOptions) {
      const target = parseUri(uri);
      return target.kind === 'local'
        ? local.write(target.path, data)
        : gcsBackend().write(target.bucket, target.key, data, writeOptions);
    },
    async writeStream(uri, source, writeOptions?: WriteOptions) {
      const target = parseUri(uri);
      return target.kind === 'local'
        ? local.writeStream(target.path, source)
        : gcsBackend().writeStream(target.bucket, target.key, source, writeOptions);
    },
    async list(prefixUri): Promise<StorageEntry[]> {
      const target = parseUri(prefixUri);
      if (target.kind === 'local') return local.list(target.path);
      const prefix = directoryPrefix(target.key);
      return gcsBackend().list(target.bucket, prefix, (name) => `gs://${target.bucket}/${name}`);
    },
    async exists(uri) {
      const target = parseUri(uri);
      return target.kind === 'local'
        ? local.exists(target.path)
        : gcsBackend().exists(target.bucket, target.key);
    },
    async delete(uri) {
      const target = parseUri(uri);
      return target.kind === 'local'
        ? local.delete(target.path)
        : gcsBackend().delete(target.bucket, target.key);
    },
    async deleteTree(prefixUri) {
      const target = parseUri(prefixUri);
      if (target.kind === 'local') return local.deleteTree(target.path);
      for (const entry of await storage.list(prefixUri)) await storage.delete(entry.uri);
    },
    async copyTree(fromPrefix, toPrefix) {
      const from = parseUri(fromPrefix);
      const to = parseUri(toPrefix);
      for (const entry of await storage.list(fromPrefix)) {
        const destination = joinUri(toPrefix, entry.relativePath);
        if (from.kind === 'gcs' && to.kind === 'gcs') {
          // Server-side copy: the bytes never leave Google's network.
          const dest = parseUri(destination) as { bucket: string; key: string };
          await gcsBackend().copy(
            from.bucket,
            `${directoryPrefix(from.key)}${entry.relativePath}`,
            dest.bucket,
            dest.key,
          );
        } else {
          await storage.writeStream(destination, await storage.readStream(entry.uri));
        }
      }
    },
  };
  return storage;
}
