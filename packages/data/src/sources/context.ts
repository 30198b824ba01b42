import { join } from 'node:path';
import { ConfigError, type Logger, type Storage } from '@tfmlops/core';
import { type DownloadOptions, download } from '../download/download.ts';
import type { FetchLike } from '../download/fetch-to-file.ts';
import type { ProgressMode, ProgressOptions } from '../download/progress.ts';

/** What every source loader gets besides its config. */
export interface LoadSourceOptions {
  storage: Storage;
  logger: Logger;
  /** Downloads go to `<cacheDir>/<kind>/`; a source config's own `cacheDir` wins over this. */
  cacheDir?: string;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: FetchLike;
  progress?: ProgressMode | ProgressOptions;
  /** Downloader settings (see `download`); the defaults suit real networks. */
  retries?: number;
  retryDelayMs?: number;
  signal?: AbortSignal;
}

/** Appends a file name to a mirror's base URL, with or without its trailing slash. */
export function mirrorUrl(base: string, fileName: string): string {
  return new URL(fileName, base.endsWith('/') ? base : `${base}/`).toString();
}

/** Downloads one file of a dataset from its mirrors into `<cacheDir>/<kind>/<fileName>`; returns its path. */
export async function fetchDatasetFile(
  kind: string,
  fileName: string,
  mirrors: readonly string[],
  sha256: string,
  configCacheDir: string | undefined,
  options: LoadSourceOptions,
): Promise<string> {
  const cacheDir = configCacheDir ?? options.cacheDir;
  if (cacheDir === undefined) {
    throw new ConfigError(`the ${kind} source needs to download files but no cache directory is set`, {
      hint: 'set data.source.cacheDir in the experiment file, or pass a cache directory to loadSource',
    });
  }
  const downloadOptions: DownloadOptions = {
    sha256,
    cacheDir: join(cacheDir, kind),
    dest: fileName,
    logger: options.logger,
    fetch: options.fetch,
    progress: options.progress,
    retries: options.retries,
    retryDelayMs: options.retryDelayMs,
    signal: options.signal,
  };
  const result = await download(
    mirrors.map((base) => mirrorUrl(base, fileName)),
    downloadOptions,
  );
  return result.path;
}
