import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DataError, sha256Hex } from '@tfmlops/core';
import { extract } from 'tar-stream';
import { sha256File } from '../download/file-hash.ts';
import type { Cifar10SourceConfig } from './config.ts';
import { fetchDatasetFile, type LoadSourceOptions } from './context.ts';
import { CIFAR10_FILE } from './known-files.ts';
import type { SourceDataset, SourceSample } from './types.ts';

/** CIFAR binary record: one label byte, then 32x32 red, 32x32 green and 32x32 blue planes. */
export const CIFAR_SIDE = 32;
const PLANE_BYTES = CIFAR_SIDE * CIFAR_SIDE;
export const CIFAR_RECORD_BYTES = 1 + 3 * PLANE_BYTES;

const TRAIN_BATCHES = [
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
];
const TEST_BATCH = 'test_batch.bin';
const META_FILE = 'batches.meta.txt';

export interface CifarBatch {
  labels: Uint8Array;
  /** `count` images of 32x32x3, row-major HWC, back to back. */
  pixels: Buffer;
  count: number;
}

/** CIFAR-10 from the official binary tarball, downloaded (or taken from the cache) and verified. */
export async function loadCifar10(
  config: Cifar10SourceConfig,
  options: LoadSourceOptions,
): Promise<SourceDataset> {
  const archive = await fetchDatasetFile(
    'cifar10',
    CIFAR10_FILE,
    config.mirrors,
    config.sha256,
    config.cacheDir,
    options,
  );
  const dataset = await readCifar10Archive(archive, config.sha256);
  return { ...dataset, origin: config.mirrors.join(' | ') };
}

/**
 * Reads a `cifar-10-binary.tar.gz` (streamed: the archive is never in memory whole) into a dataset with the
 * official split: data_batch_1..5 for training, test_batch for test, class names from batches.meta.txt.
 * The fingerprint derives from the archive's SHA-256: pass it when already verified, else it is computed.
 */
export async function readCifar10Archive(path: string, archiveSha256?: string): Promise<SourceDataset> {
  const entries = await readTarEntries(path, new Set([...TRAIN_BATCHES, TEST_BATCH, META_FILE]));
  const missing = [...TRAIN_BATCHES, TEST_BATCH, META_FILE].filter((name) => !entries.has(name));
  if (missing.length > 0) {
    throw new DataError('DATA_CORRUPT_FILE', `${path} lacks ${missing.join(', ')}`, {
      hint: `this is not the CIFAR-10 binary archive (${CIFAR10_FILE}); the python and matlab versions differ`,
    });
  }
  const classNames = entries
    .get(META_FILE)!
    .toString('utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const samples: SourceSample[] = [];
  for (const name of [...TRAIN_BATCHES, TEST_BATCH]) {
    const batch = parseCifarBatch(entries.get(name)!, `${path}:${name}`, classNames.length);
    entries.delete(name); // let the CHW copy go as soon as its HWC copy exists
    const split = name === TEST_BATCH ? 'test' : 'train';
    const stem = name.replace(/\.bin$/, '');
    const imageBytes = PLANE_BYTES * 3;
    for (let i = 0; i < batch.count; i += 1) {
      samples.push({
        id: `${stem}#${i}`,
        label: batch.labels[i]!,
        officialSplit: split,
        image: {
          kind: 'raw',
          width: CIFAR_SIDE,
          height: CIFAR_SIDE,
          channels: 3,
          pixels: batch.pixels.subarray(i * imageBytes, (i + 1) * imageBytes),
        },
      });
    }
  }
  const archiveHash = archiveSha256 ?? (await sha256File(path));
  return {
    source: 'cifar10',
    origin: path,
    classNames,
    hasOfficialTestSplit: true,
    fingerprint: sha256Hex(`${CIFAR10_FILE} ${archiveHash}\n`),
    samples,
  };
}

/** Converts one batch file of 3073-byte records from planar CHW to interleaved HWC. */
export function parseCifarBatch(data: Buffer, name: string, classCount: number): CifarBatch {
  if (data.length === 0 || data.length % CIFAR_RECORD_BYTES !== 0) {
    throw new DataError(
      'DATA_CORRUPT_FILE',
      `${name} has ${data.length} bytes, not a whole number of ${CIFAR_RECORD_BYTES}-byte CIFAR records`,
      { hint: 'the archive is truncated or damaged; delete it so it is downloaded again' },
    );
  }
  const count = data.length / CIFAR_RECORD_BYTES;
  const labels = new Uint8Array(count);
  const pixels = Buffer.allocUnsafe(count * PLANE_BYTES * 3);
  for (let r = 0; r < count; r += 1) {
    const record = r * CIFAR_RECORD_BYTES;
    const label = data[record]!;
    if (label >= classCount) {
      throw new DataError(
        'DATA_BAD_LABEL',
        `${name}: record ${r} has label ${label}, but there are ${classCount} classes`,
        {
          hint: 'the archive is damaged, or batches.meta.txt lists too few class names',
        },
      );
    }
    labels[r] = label;
    const red = record + 1;
    const out = r * PLANE_BYTES * 3;
    for (let p = 0; p < PLANE_BYTES; p += 1) {
      pixels[out + p * 3] = data[red + p]!;
      pixels[out + p * 3 + 1] = data[red + PLANE_BYTES + p]!;
      pixels[out + p * 3 + 2] = data[red + 2 * PLANE_BYTES + p]!;
    }
  }
  return { labels, pixels, count };
}

/** The wanted members of a .tar.gz, keyed by base name; everything else is skipped without buffering. */
async function readTarEntries(path: string, wanted: Set<string>): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  const tar = extract();
  const feeding = pipeline(createReadStream(path), createGunzip(), tar);
  try {
    for await (const entry of tar) {
      const name = basename(entry.header.name);
      if (entry.header.type !== 'file' || !wanted.has(name)) {
        entry.resume();
        continue;
      }
      const data = Buffer.allocUnsafe(entry.header.size ?? 0);
      let offset = 0;
      for await (const chunk of entry) {
        (chunk as Buffer).copy(data, offset);
        offset += (chunk as Buffer).length;
      }
      found.set(name, data.subarray(0, offset));
    }
    await feeding;
  } catch (error) {
    feeding.catch(() => {}); // the loop's error is the one to report; don't leave this one unhandled
    throw new DataError('DATA_CORRUPT_FILE', `cannot read ${path}: ${(error as Error).message}`, {
      hint: 'the archive is truncated or damaged; delete it so it is downloaded again',
      cause: error,
    });
  }
  return found;
}
