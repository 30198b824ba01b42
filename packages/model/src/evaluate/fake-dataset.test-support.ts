import * as tf from '@tensorflow/tfjs-core';
import type { Batch, BatchOptions, Shard, ShardEntry } from '@tfmlops/data';

/**
 * A prepared dataset in miniature, for tests: one test split of two shards of 8x8 RGB images (image i is filled with
 * the value 10 * i, label i % 10), read in shard order like PreparedDataset's unshuffled batches.
 */
export function fakeDataset() {
  const shards: Array<ShardEntry & { shard: Shard }> = [0, 1].map((s) => {
    const count = s === 0 ? 10 : 12;
    const start = s === 0 ? 0 : 10;
    const pixels = new Uint8Array(count * 8 * 8 * 3);
    const labels = new Uint8Array(count);
    for (let i = 0; i < count; i += 1) {
      pixels.fill((start + i) * 10, i * 192, (i + 1) * 192);
      labels[i] = (start + i) % 10;
    }
    return {
      file: `test-0000${s}.bin`,
      split: 'test',
      count,
      bytes: 0,
      sha256: '0'.repeat(64),
      shard: { count, height: 8, width: 8, channels: 3, labelBytes: 1, labels, pixels },
    };
  });
  return {
    classNames: ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9'],
    imageShape: [8, 8, 3] as [number, number, number],
    shards: () => shards,
    readShard: async (entry: ShardEntry) => shards.find((s) => s.file === entry.file)!.shard,
    async *batches(_split: string, options: BatchOptions): AsyncGenerator<Batch> {
      if (options.shuffle !== false) throw new Error('fakeDataset only serves unshuffled batches');
      const images = shards.flatMap(({ shard }) =>
        Array.from({ length: shard.count }, (_, i) => ({
          pixels: shard.pixels.subarray(i * 192, (i + 1) * 192),
          label: shard.labels[i]!,
        })),
      );
      for (let start = 0; start < images.length; start += options.batchSize) {
        const chunk = images.slice(start, start + options.batchSize);
        const xs = new Float32Array(chunk.length * 192);
        chunk.forEach((image, b) => {
          for (let j = 0; j < 192; j += 1) xs[b * 192 + j] = image.pixels[j]! / 255 - 0.5;
        });
        yield {
          xs: tf.tensor4d(xs, [chunk.length, 8, 8, 3]),
          ys: tf.tensor1d(
            chunk.map((image) => image.label),
            'int32',
          ),
        };
      }
    },
  };
}
