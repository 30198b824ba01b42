import { readdir } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import {
  DataError,
  isGcsUri,
  joinUri,
  parseUri,
  type Storage,
  type StorageEntry,
  sha256Hex,
} from '@tfmlops/core';
import type { ImageFolderSourceConfig } from './config.ts';
import type { LoadSourceOptions } from './context.ts';
import type { SourceDataset, SourceSample } from './types.ts';

/** Files hashed at once for the fingerprint: enough to hide GCS latency, few enough to keep memory flat. */
const HASH_CONCURRENCY = 8;

/**
 * A folder with one subfolder per class (`<path>/<class>/**\/<image>`), local or on GCS. Class names are the
 * subfolder names, sorted, so labels do not depend on listing order. Files are matched by extension only and read
 * lazily; decoding (and counting corrupt files) is preprocessing's job. Every file is hashed once here for the
 * fingerprint, so changing, adding or removing any image changes the dataset version.
 */
export async function loadImageFolder(
  config: ImageFolderSourceConfig,
  options: LoadSourceOptions,
): Promise<SourceDataset> {
  const { storage, logger } = options;
  const root = config.path;
  const entries = await listFolder(storage, root);
  const extensions = new Set(config.extensions);

  const classDirs = new Set(await localSubfolders(root));
  const filesByClass = new Map<string, StorageEntry[]>();
  const ignored: string[] = [];
  for (const entry of entries) {
    const slash = entry.relativePath.indexOf('/');
    if (slash < 0) {
      ignored.push(entry.relativePath);
      continue;
    }
    const className = entry.relativePath.slice(0, slash);
    if (className.startsWith('.')) continue; // .git, .ipynb_checkpoints and the like are not classes
    classDirs.add(className);
    // GCS has no folders; a zero-byte object named `class/` is how consoles make an (empty) one.
    if (entry.relativePath.endsWith('/')) continue;
    const name = basename(entry.relativePath);
    if (name.startsWith('.') || !extensions.has(extname(name).toLowerCase())) {
      ignored.push(entry.relativePath);
      continue;
    }
    const files = filesByClass.get(className) ?? [];
    files.push(entry);
    filesByClass.set(className, files);
  }

  const classNames = [...classDirs].sort();
  if (classNames.length === 0) {
    throw new DataError('DATA_NO_CLASSES', `the image folder ${root} has no class subfolders`, {
      hint: `put images in one subfolder per class, e.g. ${joinUri(root, 'cat/001.jpg')} and ${joinUri(root, 'dog/001.png')}`,
    });
  }
  const empty = classNames.filter((name) => !filesByClass.has(name));
  if (empty.length > 0) {
    const folders = empty.map((name) => joinUri(root, name)).join(', ');
    throw new DataError(
      'DATA_EMPTY_CLASS',
      `class folder${empty.length > 1 ? 's' : ''} ${folders} ha${empty.length > 1 ? 've' : 's'} no images (${config.extensions.join(', ')})`,
      {
        hint: 'add images to the folder or remove it; every subfolder is taken as a class',
      },
    );
  }
  if (ignored.length > 0) {
    logger.info(
      { count: ignored.length, examples: ignored.slice(0, 5) },
      `ignoring ${ignored.length} files that are not ${config.extensions.join('/')} images inside a class folder`,
    );
  }

  const samples: SourceSample[] = [];
  const hashed: StorageEntry[] = [];
  classNames.forEach((className, label) => {
    const files = filesByClass.get(className)!.sort((a, b) => compare(a.relativePath, b.relativePath));
    for (const file of files) {
      hashed.push(file);
      samples.push({ id: file.uri, label, image: { kind: 'encoded', read: () => storage.read(file.uri) } });
    }
  });
  logger.info(
    { path: root, classes: classNames.length, files: samples.length },
    'hashing image folder for its fingerprint',
  );
  return {
    source: 'imagefolder',
    origin: root,
    classNames,
    hasOfficialTestSplit: false,
    fingerprint: await fingerprintFiles(storage, hashed),
    samples,
  };
}

async function listFolder(storage: Storage, root: string): Promise<StorageEntry[]> {
  try {
    return await storage.list(root);
  } catch (error) {
    throw new DataError(
      'DATA_SOURCE_UNREADABLE',
      `cannot list the image folder ${root}: ${(error as Error).message}`,
      {
        hint: isGcsUri(root)
          ? 'check the bucket and prefix, and that your credentials (gcloud auth application-default login, or a ' +
            'service account) may list and read objects there'
          : 'check that the folder exists and is readable',
        cause: error,
      },
    );
  }
}

/**
 * Subfolders of a local root, including empty ones, which a storage listing (files only) cannot show.
 * Object stores have no empty folders, so this only applies to local paths.
 */
async function localSubfolders(root: string): Promise<string[]> {
  const target = parseUri(root);
  if (target.kind !== 'local') return [];
  try {
    const children = await readdir(target.path, { withFileTypes: true });
    return children
      .filter((child) => child.isDirectory() && !child.name.startsWith('.'))
      .map((child) => child.name);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataError(
      code === 'ENOENT' ? 'DATA_SOURCE_MISSING' : 'DATA_SOURCE_UNREADABLE',
      code === 'ENOENT'
        ? `the image folder ${root} does not exist`
        : `cannot read the image folder ${root}: ${code}`,
      { hint: 'set data.source.path to a folder holding one subfolder per class', cause: error },
    );
  }
}

/** SHA-256 over every file's relative path, size and content hash, in path order. */
async function fingerprintFiles(storage: Storage, files: readonly StorageEntry[]): Promise<string> {
  const lines = new Array<string>(files.length);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const index = next;
      next += 1;
      const file = files[index]!;
      const content = await storage.read(file.uri);
      lines[index] = `${file.relativePath}\t${file.size}\t${sha256Hex(content)}\n`;
    }
  };
  await Promise.all(Array.from({ length: Math.min(HASH_CONCURRENCY, files.length) }, worker));
  const ordered = files.map((file, index) => [file.relativePath, lines[index]!] as const);
  ordered.sort((a, b) => compare(a[0], b[0]));
  return sha256Hex(ordered.map(([, line]) => line).join(''));
}

/** Code-point order, the same on every machine and locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
