import { ConfigError } from '@tfmlops/core';
import { loadCifar10 } from './cifar10.ts';
import { SOURCE_KINDS, type SourceConfig, type SourceKind } from './config.ts';
import type { LoadSourceOptions } from './context.ts';
import { loadImageFolder } from './imagefolder.ts';
import { loadFashionMnist, loadMnist } from './mnist.ts';
import type { SourceDataset } from './types.ts';

type Loader<K extends SourceKind> = (
  config: Extract<SourceConfig, { kind: K }>,
  options: LoadSourceOptions,
) => Promise<SourceDataset>;

/** One loader per kind; adding a source means adding a schema to the union and an entry here. */
const LOADERS: { [K in SourceKind]: Loader<K> } = {
  mnist: loadMnist,
  'fashion-mnist': loadFashionMnist,
  cifar10: loadCifar10,
  imagefolder: loadImageFolder,
};

/**
 * The one entry point from preprocessing into sources: finds (and if needed downloads and verifies) the data a
 * parsed `data.source` config names and returns its samples, class names and fingerprint.
 */
export function loadSource(config: SourceConfig, options: LoadSourceOptions): Promise<SourceDataset> {
  const kind = (config as { kind?: unknown }).kind;
  if (typeof kind !== 'string' || !Object.hasOwn(LOADERS, kind)) {
    return Promise.reject(
      new ConfigError(`unknown data source kind '${String(kind)}'`, {
        hint: `set data.source.kind to one of: ${SOURCE_KINDS.join(', ')}`,
      }),
    );
  }
  const loader = LOADERS[kind as SourceKind] as Loader<SourceKind>;
  return loader(config as never, options);
}
