import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { DataError, type Logger } from '@tfmlops/core';
import { describeFailure, type FetchLike, fetchToFile } from './fetch-to-file.ts';
import { sha256File } from './file-hash.ts';
import { createProgressReporter, type ProgressMode, type ProgressOptions } from './progress.ts';

export interface DownloadOptions {
  /** Expected hex SHA-256 of the file; the download is rejected unless it matches. */
  sha256: string;
  /** Directory holding finished downloads; a file already there with the right hash is reused. */
  cacheDir: string;
  /** Where the file goes, relative to `cacheDir` (or absolute); defaults to the first URL's file name. */
  dest?: string;
  logger: Logger;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: FetchLike;
  /** Consecutive failed attempts per URL without progress allowed after the first. Default 3. */
  retries?: number;
  /** First backoff delay, doubled per consecutive failure. Default 1000 ms. */
  retryDelayMs?: number;
  /** Abort and retry an attempt that receives nothing for this long. Default 30 s. */
  stallTimeoutMs?: number;
  progress?: ProgressMode | ProgressOptions;
  signal?: AbortSignal;
}

export interface DownloadResult {
  /** Absolute path of the verified file in the cache. */
  path: string;
  sha256: string;
  /** The URL that served it; undefined when the cached copy was used. */
  url?: string;
  cached: boolean;
}

interface MirrorFailure {
  url: string;
  reason: string;
  /** Set when the server delivered a whole file whose hash was wrong. */
  actualSha256?: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Fetches one file into the cache, trying each URL (mirror) in order. The bytes stream into `<dest>.part`, which
 * survives failed attempts so the next one (even a later run) can resume it with `Range:`; only a file whose
 * SHA-256 matches is renamed to `<dest>`, so the cache never holds a partial or wrong file under its real name.
 *
 * Throws DataError `DATA_CHECKSUM_MISMATCH` when a server delivered a file with another hash (naming URL,
 * expected and actual hash), or `DATA_DOWNLOAD_FAILED` when no mirror delivered, with a hint saying where to put
 * the file by hand.
 */
export async function download(
  urls: string | readonly string[],
  options: DownloadOptions,
): Promise<DownloadResult> {
  const mirrors = typeof urls === 'string' ? [urls] : [...urls];
  const first = mirrors[0];
  if (first === undefined) throw new DataError('DATA_DOWNLOAD_FAILED', 'download() was given no URL');
  const expected = options.sha256.trim().toLowerCase();
  if (!SHA256_HEX.test(expected)) {
    throw new DataError('DATA_BAD_CHECKSUM', `'${options.sha256}' is not a hex SHA-256 (64 hex digits)`, {
      hint: 'pass the sha256 of the file, e.g. from `sha256sum <file>`',
    });
  }
  const target = resolve(options.cacheDir, options.dest ?? fileNameOf(first));
  const part = `${target}.part`;
  const name = basename(target);
  const logger = options.logger;
  await mkdir(dirname(target), { recursive: true });

  const cached = await hashIfPresent(target);
  if (cached === expected) {
    logger.debug({ path: target }, `using cached ${name}`);
    return { path: target, sha256: expected, cached: true };
  }
  if (cached !== undefined) {
    logger.warn(
      { path: target, expected, actual: cached },
      `cached ${name} has the wrong checksum; downloading again`,
    );
    await rm(target, { force: true });
  }

  const progress = createProgressReporter(name, logger, options.progress);
  const fetchOptions = {
    fetch: options.fetch ?? globalThis.fetch,
    retries: options.retries ?? 3,
    retryDelayMs: options.retryDelayMs ?? 1000,
    stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
    logger,
    progress,
    signal: options.signal,
  };
  const failures: MirrorFailure[] = [];
  try {
    for (const url of mirrors) {
      logger.info({ url, path: target }, `downloading ${name}`);
      let actual: string;
      try {
        const { resumed } = await fetchToFile(url, part, fetchOptions);
        actual = await sha256File(part);
        if (actual !== expected && resumed) {
          // Pieces from two responses (or two runs) may not belong together: one clean retry decides.
          logger.warn(
            { url, expected, actual },
            `${name} assembled from resumed pieces has the wrong checksum; downloading it whole`,
          );
          await rm(part, { force: true });
          await fetchToFile(url, part, fetchOptions);
          actual = await sha256File(part);
        }
      } catch (error) {
        if (options.signal?.aborted) throw error;
        const reason = describeFailure(error);
        logger.warn({ url, reason }, `could not download ${url}`);
        failures.push({ url, reason });
        continue;
      }
      if (actual === expected) {
        await rename(part, target);
        logger.info({ url, path: target, sha256: actual }, `downloaded ${name}`);
        return { path: target, sha256: actual, url, cached: false };
      }
      await rm(part, { force: true });
      logger.warn({ url, expected, actual }, `${url} served a file with the wrong checksum`);
      failures.push({
        url,
        reason: `sha256 mismatch: expected ${expected}, got ${actual}`,
        actualSha256: actual,
      });
    }
  } finally {
    progress.stop();
  }
  throw failureError(name, target, expected, failures);
}

function failureError(name: string, target: string, expected: string, failures: MirrorFailure[]): DataError {
  const lines = failures.map((failure) => `  ${failure.url}: ${failure.reason}`).join('\n');
  const mismatch = failures.find((failure) => failure.actualSha256 !== undefined);
  if (mismatch) {
    return new DataError(
      'DATA_CHECKSUM_MISMATCH',
      `checksum mismatch for ${mismatch.url}: expected sha256 ${expected}, got ${mismatch.actualSha256}` +
        (failures.length > 1 ? `\nevery mirror failed:\n${lines}` : ''),
      {
        hint:
          'the file was removed. If the new file is trusted, set its sha256 in the data source config; ' +
          'otherwise use another mirror',
      },
    );
  }
  return new DataError('DATA_DOWNLOAD_FAILED', `could not download ${name} from any mirror:\n${lines}`, {
    hint:
      `without network access, get ${name} (sha256 ${expected}) some other way and put it at ${target}; ` +
      'it is then used without any request',
  });
}

async function hashIfPresent(path: string): Promise<string | undefined> {
  try {
    return await sha256File(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function fileNameOf(url: string): string {
  const name = basename(new URL(url).pathname);
  if (!name)
    throw new DataError('DATA_DOWNLOAD_FAILED', `cannot tell a file name from ${url}`, {
      hint: 'pass `dest`',
    });
  return name;
}
