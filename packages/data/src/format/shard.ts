import { DataError } from '@tfmlops/core';

/**
 * Shard file format (version 1). A dataset split is a series of shards `<split>-00000.bin`, each self-describing so
 * a shard can be checked and read alone. All integers are little-endian u32.
 *
 * ```
 * offset  size   field
 * 0       8      magic "TFMDSHRD"
 * 8       4      shard format version (1)
 * 12      4      N, number of images
 * 16      4      height
 * 20      4      width
 * 24      4      channels (1 or 3)
 * 28      4      label bytes: 1 (uint8 labels, <= 256 classes) or 2 (uint16)
 * 32      N*lb   labels, class indices into manifest.classNames, zero-padded to a multiple of 8 bytes
 * ...     N*H*W*C pixels, uint8, NHWC (row-major, channels last), image i at i*H*W*C
 * ```
 *
 * Labels come first so a reader can tally classes without touching pixels; pixels are one contiguous block so a
 * batch is a plain copy. Integrity (SHA-256 per shard) lives in manifest.json, not here.
 */
export const SHARD_MAGIC = 'TFMDSHRD';
export const SHARD_FORMAT_VERSION = 1;
export const SHARD_HEADER_BYTES = 32;

export interface ShardHeader {
  count: number;
  height: number;
  width: number;
  channels: number;
  labelBytes: 1 | 2;
}

export interface Shard extends ShardHeader {
  /** Class index per image. */
  labels: Uint8Array | Uint16Array;
  /** NHWC uint8 pixels of all images. */
  pixels: Uint8Array;
}

/** Label bytes needed for a number of classes. */
export function labelBytesFor(numClasses: number): 1 | 2 {
  if (numClasses > 65536) {
    throw new DataError(
      'DATA_TOO_MANY_CLASSES',
      `${numClasses} classes; the shard format holds at most 65536`,
    );
  }
  return numClasses <= 256 ? 1 : 2;
}

function labelBlockBytes(count: number, labelBytes: number): number {
  return Math.ceil((count * labelBytes) / 8) * 8;
}

/** Serialises one shard. `pixels` must hold exactly `labels.length` images of the header's shape. */
export function encodeShard(
  header: Omit<ShardHeader, 'count'>,
  labels: ArrayLike<number>,
  pixels: Uint8Array,
): Buffer {
  const count = labels.length;
  const imageSize = header.height * header.width * header.channels;
  if (pixels.length !== count * imageSize) {
    throw new DataError(
      'DATA_SHARD_SHAPE',
      `shard pixels are ${pixels.length} bytes, expected ${count * imageSize}`,
    );
  }
  const labelsSize = labelBlockBytes(count, header.labelBytes);
  const out = Buffer.alloc(SHARD_HEADER_BYTES + labelsSize + pixels.length);
  out.write(SHARD_MAGIC, 0, 'ascii');
  out.writeUInt32LE(SHARD_FORMAT_VERSION, 8);
  out.writeUInt32LE(count, 12);
  out.writeUInt32LE(header.height, 16);
  out.writeUInt32LE(header.width, 20);
  out.writeUInt32LE(header.channels, 24);
  out.writeUInt32LE(header.labelBytes, 28);
  for (let i = 0; i < count; i += 1) {
    const label = labels[i] as number;
    if (header.labelBytes === 1) out.writeUInt8(label, SHARD_HEADER_BYTES + i);
    else out.writeUInt16LE(label, SHARD_HEADER_BYTES + 2 * i);
  }
  out.set(pixels, SHARD_HEADER_BYTES + labelsSize);
  return out;
}

/** Parses a shard; `name` is only for error messages. The returned arrays are views into `data` (no copy). */
export function decodeShard(data: Uint8Array, name: string): Shard {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const fail = (what: string) =>
    new DataError('DATA_SHARD_CORRUPT', `shard ${name} is not a valid dataset shard: ${what}`, {
      hint: 'the dataset directory is damaged; re-run `pnpm data prepare` to rebuild it',
    });
  if (buffer.length < SHARD_HEADER_BYTES || buffer.toString('ascii', 0, 8) !== SHARD_MAGIC)
    throw fail('bad magic');
  const version = buffer.readUInt32LE(8);
  if (version !== SHARD_FORMAT_VERSION) throw fail(`unsupported shard format version ${version}`);
  const count = buffer.readUInt32LE(12);
  const height = buffer.readUInt32LE(16);
  const width = buffer.readUInt32LE(20);
  const channels = buffer.readUInt32LE(24);
  const labelBytes = buffer.readUInt32LE(28);
  if (labelBytes !== 1 && labelBytes !== 2) throw fail(`label bytes ${labelBytes}`);
  const labelsSize = labelBlockBytes(count, labelBytes);
  const pixelsStart = SHARD_HEADER_BYTES + labelsSize;
  const pixelsSize = count * height * width * channels;
  if (buffer.length !== pixelsStart + pixelsSize) {
    throw fail(`size ${buffer.length} bytes, header says ${pixelsStart + pixelsSize}`);
  }
  const labelsOffset = buffer.byteOffset + SHARD_HEADER_BYTES;
  const labels =
    labelBytes === 1
      ? new Uint8Array(buffer.buffer, labelsOffset, count)
      : // A Uint16Array view needs 2-byte alignment; copy when the buffer happens to be misaligned.
        labelsOffset % 2 === 0
        ? new Uint16Array(buffer.buffer, labelsOffset, count)
        : new Uint16Array(buffer.buffer.slice(labelsOffset, labelsOffset + 2 * count));
  const pixels = new Uint8Array(buffer.buffer, buffer.byteOffset + pixelsStart, pixelsSize);
  return { count, height, width, channels, labelBytes, labels, pixels };
}
