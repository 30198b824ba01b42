import { pathToFileURL } from 'node:url';
import type { GcsOptions } from './gcs-client.ts';
import type { GcsBackend } from './gcs-storage.ts';
import { LocalBackend } from './local-storage.ts';
import type { Storage, StorageEntry } from './types.ts';
import { joinUri, type ParsedUri, parseUri } from './uri.ts';

export interface StorageOptions {
  gcs?: GcsOptions;
  /** Objects copied or deleted at once by copyTree/deleteTree (default 8). */
  concurrency?: number;
}

/**
 * The product's one storage API: routes each URI to the local or GCS backend by its scheme (plain paths and
 * `file://` to the local disk, `gs://` to GCS; anything else is a StorageError). The GCS SDK is imported and its client
 * made on first use, so commands that only touch local files never load the SDK or its credentials.
 */
export function createStorage(options: StorageOptions = {}): Storage {
  const local = new LocalBackend();
  const concurrency = Math.max(1, options.concurrency ?? 8);
  // The SDK (and its dependency tree) is imported on the first gs:// URI, not when core is imported.
  let gcs: Promise<GcsBackend> | undefined;
  const gcsBackend = () => {
    gcs ??= import('./gcs-storage.ts').then(({ GcsBackend }) => new GcsBackend(options.gcs));
    return gcs;
  };

  // Every method is async so that a bad URI rejects like any other failure instead of throwing synchronously.
  const storage: Storage = {
    async read(uri) {
      const target = parseUri(uri);
      return target.kind === 'local'
        ? local.read(target.path)
        : (await gcsBackend()).read(target.bucket, target.key);
    },
    async readStream(uri) {
      const target = parseUri(uri);
      return target.kind === 'local'
        ? local.readStream(target.path)
        : (await gcsBackend()).readStream(target.bucket, target.key);
    },
    async write(uri, data, writeOptions) {
      const target = parseUri(uri);
      return target.kind === 'local'
        ? local.write(target.path, data, writeOptions)
        : (await gcsBackend()).write(target.bucket, target.key, data, writeOptions);
    },
    async writeStream(uri, source, writeOptions) {
      const target = parseUri(uri);
      return target.kind === 'local'
        ? local.writeStream(target.path, source, writeOptions)
        : (await gcsBackend()).writeStream(target.bucket, target.key, source, writeOptions);
    },
    async list(prefixUri): Promise<StorageEntry[]> {
      const target = parseUri(prefixUri);
      if (target.kind === 'gcs') return (await gcsBackend()).list(target.bucket, directoryPrefix(target.key));
      const entries = await local.list(target.path);
      if (!/^file:/i.test(prefixUri)) return entries;
      return entries.map((entry) => ({ ...entry, uri: pathToFileURL(entry.uri).href }));
    },
    async exists(uri) {
      const target = parseUri(uri);
      return target.kind === 'local'
        ? local.exists(target.path)
        : (await gcsBackend()).exists(target.bucket, target.key);
    },
    async delete(uri) {
      const target = parseUri(uri);
      return target.kind === 'local'
        ? local.delete(target.path)
        : (await gcsBackend()).delete(target.bucket, target.key);
    },
    async deleteTree(prefixUri) {
      const target = parseUri(prefixUri);
      if (target.kind === 'local') return local.deleteTree(target.path);
      const entries = await storage.list(prefixUri);
      await forEachLimited(entries, concurrency, (entry) => storage.delete(entry.uri));
    },
    async copyTree(fromPrefix, toPrefix) {
      const from = parseUri(fromPrefix);
      const to = parseUri(toPrefix);
      // The listing is taken before anything is written, so copying a tree into itself terminates.
      const entries = await storage.list(fromPrefix);
      await forEachLimited(entries, concurrency, async (entry) => {
        if (from.kind === 'gcs' && to.kind === 'gcs') {
          return (await gcsBackend()).copy(
            from.bucket,
            `${directoryPrefix(from.key)}${entry.relativePath}`,
            to.bucket,
            `${directoryPrefix(to.key)}${entry.relativePath}`,
          );
        }
        const destination = relativeTo(to, toPrefix, entry.relativePath);
        await storage.writeStream(destination, await storage.readStream(entry.uri));
      });
    },
  };
  return storage;
}

/** GCS has no directories: the prefix `data` means everything under `data/` (not `data-old/...`). */
function directoryPrefix(key: string): string {
  return key === '' || key.endsWith('/') ? key : `${key}/`;
}

function relativeTo(target: ParsedUri, prefixUri: string, relativePath: string): string {
  return target.kind === 'local' ? joinUri(target.path, relativePath) : joinUri(prefixUri, relativePath);
}

/** Runs `task` over `items` with at most `limit` in flight; the first failure rejects after running tasks settle. */
async function forEachLimited<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await task(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}
