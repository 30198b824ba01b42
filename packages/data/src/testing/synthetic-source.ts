import { createHash } from 'node:crypto';
import { createRandom } from '@tfmlops/core';
import sharp from 'sharp';
import type { SourceDataset, SourceSample } from '../sources/types.ts';

export interface SyntheticSourceOptions {
  classes?: number;
  /** Samples per class in the pool (train/val or everything when there is no official test). */
  perClass?: number;
  /** Per class in the official test split; 0 means the source has none. */
  testPerClass?: number;
  width?: number;
  height?: number;
  channels?: 1 | 3;
  /** Hand out PNG files instead of decoded pixels. */
  encoded?: boolean;
  /** Sample ids whose bytes are garbage (encoded only). */
  corruptIds?: string[];
  /** Changes every pixel, i.e. different inputs with the same ids. */
  variant?: number;
}

/**
 * A small deterministic source for tests and benchmarks: class `k` images are noise around a brightness that grows
 * with `k`, so classes differ and no two images are identical.
 */
export function syntheticSource(options: SyntheticSourceOptions = {}): SourceDataset {
  const classes = options.classes ?? 3;
  const perClass = options.perClass ?? 20;
  const testPerClass = options.testPerClass ?? 0;
  const width = options.width ?? 8;
  const height = options.height ?? 8;
  const channels = options.channels ?? 1;
  const corrupt = new Set(options.corruptIds ?? []);
  const samples: SourceSample[] = [];
  const fingerprint = createHash('sha256');
  for (const split of ['train', 'test'] as const) {
    const count = split === 'train' ? perClass : testPerClass;
    for (let label = 0; label < classes; label += 1) {
      for (let i = 0; i < count; i += 1) {
        const id = `${split}/${label}/${String(i).padStart(5, '0')}`;
        const pixels = syntheticPixels(
          width * height * channels,
          label,
          classes,
          `${id}#${options.variant ?? 0}`,
        );
        fingerprint.update(id).update(pixels);
        const officialSplit = testPerClass > 0 ? split : undefined;
        if (!options.encoded) {
          samples.push({ id, label, officialSplit, image: { kind: 'raw', width, height, channels, pixels } });
          continue;
        }
        const read = corrupt.has(id)
          ? async () => Buffer.from('this is not a PNG file')
          : () => sharp(pixels, { raw: { width, height, channels } }).png().toBuffer();
        samples.push({ id, label, officialSplit, image: { kind: 'encoded', read } });
      }
    }
  }
  return {
    source: 'synthetic',
    origin: `synthetic:${classes}x${perClass}+${testPerClass}@${width}x${height}x${channels}`,
    classNames: Array.from({ length: classes }, (_, k) => `class-${k}`),
    hasOfficialTestSplit: testPerClass > 0,
    fingerprint: fingerprint.update(JSON.stringify([...corrupt])).digest('hex'),
    samples,
  };
}

function syntheticPixels(size: number, label: number, classes: number, key: string): Uint8Array {
  const random = createRandom(createHash('sha256').update(key).digest().readUInt32LE(0));
  const base = Math.round(((label + 0.5) / classes) * 200);
  return Uint8Array.from({ length: size }, () =>
    Math.max(0, Math.min(255, base + Math.round((random() - 0.5) * 80))),
  );
}
