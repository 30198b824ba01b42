import { basename } from 'node:path';
import { DataError, sha256Hex } from '@tfmlops/core';
import { parseIdxImages, parseIdxLabels, readIdxFile } from './idx.ts';
import type { IdxFileKey } from './known-files.ts';
import type { SourceDataset, SourceSample } from './types.ts';

export interface IdxDatasetInput {
  source: string;
  origin: string;
  classNames: readonly string[];
  /** Path of each of the four files (raw or gzipped). */
  files: Record<IdxFileKey, string>;
}

export interface IdxDatasetResult {
  dataset: SourceDataset;
  /** SHA-256 of each decompressed file, for checks against known values. */
  contentSha256: Record<IdxFileKey, string>;
}

const KEYS: readonly IdxFileKey[] = ['trainImages', 'trainLabels', 'testImages', 'testLabels'];

/**
 * Builds an MNIST-style dataset (official train + test split, 1-channel images) from four IDX files. Each sample's
 * pixels are a view into its file's one buffer, so 60k images cost one 47 MB allocation, not 60k.
 */
export async function loadIdxDataset(input: IdxDatasetInput): Promise<IdxDatasetResult> {
  const buffers = {} as Record<IdxFileKey, Buffer>;
  const contentSha256 = {} as Record<IdxFileKey, string>;
  for (const key of KEYS) {
    const buffer = await readIdxFile(input.files[key]);
    buffers[key] = buffer;
    contentSha256[key] = sha256Hex(buffer);
  }
  const train = splitSamples('train', buffers.trainImages, buffers.trainLabels, input);
  const test = splitSamples('test', buffers.testImages, buffers.testLabels, input);
  // Decompressed bytes, so a gzipped download and a raw copy of the same data give the same fingerprint.
  const fingerprint = sha256Hex(KEYS.map((key) => `${key} ${contentSha256[key]}\n`).join(''));
  return {
    dataset: {
      source: input.source,
      origin: input.origin,
      classNames: [...input.classNames],
      hasOfficialTestSplit: true,
      fingerprint,
      samples: [...train, ...test],
    },
    contentSha256,
  };
}

function splitSamples(
  split: 'train' | 'test',
  imageData: Buffer,
  labelData: Buffer,
  input: IdxDatasetInput,
): SourceSample[] {
  const imagesPath = input.files[split === 'train' ? 'trainImages' : 'testImages'];
  const labelsPath = input.files[split === 'train' ? 'trainLabels' : 'testLabels'];
  const images = parseIdxImages(imageData, imagesPath);
  const { count, labels } = parseIdxLabels(labelData, labelsPath);
  if (images.count !== count) {
    throw new DataError(
      'DATA_MISMATCHED_FILES',
      `${imagesPath} holds ${images.count} images but ${labelsPath} holds ${count} labels`,
      { hint: 'the image and label files must come from the same release; replace both with the originals' },
    );
  }
  // `train-images#12` style ids: the file's stem, without the IDX suffix and any .gz.
  const stem = basename(imagesPath)
    .replace(/\.gz$/, '')
    .replace(/-idx\d-ubyte$/, '');
  const size = images.rows * images.cols;
  const samples: SourceSample[] = new Array(count);
  for (let i = 0; i < count; i += 1) {
    const label = labels[i]!;
    if (label >= input.classNames.length) {
      throw new DataError(
        'DATA_BAD_LABEL',
        `${labelsPath}: label ${label} at index ${i} is outside the ${input.classNames.length} classes`,
        { hint: `is this really ${input.source}? Its labels run from 0 to ${input.classNames.length - 1}` },
      );
    }
    samples[i] = {
      id: `${stem}#${i}`,
      label,
      officialSplit: split,
      image: {
        kind: 'raw',
        width: images.cols,
        height: images.rows,
        channels: 1,
        pixels: images.pixels.subarray(i * size, (i + 1) * size),
      },
    };
  }
  return samples;
}
