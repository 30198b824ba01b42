import type { Readable } from 'node:stream';

/**
 * Contract between sources (which find and fetch images) and preprocessing (which decodes, resizes and shards them).
 * A source never resizes: it hands over either already-decoded pixels (IDX, CIFAR records) or encoded file bytes
 * (JPEG/PNG/WebP), and preprocessing runs one sharp pipeline over both, the same one `serve` runs at inference.
 */
export type SplitName = 'train' | 'val' | 'test';

/** Pixels already decoded by the source (MNIST IDX, CIFAR binary records). Row-major HWC uint8. */
export interface RawPixels {
  kind: 'raw';
  width: number;
  height: number;
  channels: 1 | 3;
  pixels: Uint8Array;
}

/** An encoded image file; bytes are read lazily so a big folder is never held in memory at once. */
export interface EncodedImage {
  kind: 'encoded';
  read(): Promise<Buffer>;
}

export interface SourceSample {
  /** Stable, human-readable id used in reports and error messages: a file path / URI or `train-images#123`. */
  id: string;
  /** Index into `SourceDataset.classNames`. */
  label: number;
  /** Split the source itself assigns (MNIST/CIFAR official test set); undefined when the source has none. */
  officialSplit?: 'train' | 'test';
  image: RawPixels | EncodedImage;
}

export interface SourceDataset {
  /** Source kind, e.g. `mnist`, `cifar10`, `imagefolder`. */
  source: string;
  /** Where the data came from (file path, URL list, gs:// prefix) for the manifest. */
  origin: string;
  classNames: string[];
  /** True when samples carry `officialSplit: 'test'` that preprocessing must keep as the test split. */
  hasOfficialTestSplit: boolean;
  /**
   * SHA-256 over the raw inputs (archive checksums, or sorted file paths + sizes + content hashes) so that the
   * dataset version changes whenever the inputs do.
   */
  fingerprint: string;
  samples: SourceSample[];
}

export type { Readable };
