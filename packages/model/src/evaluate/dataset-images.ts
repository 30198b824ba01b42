import type { Shard, ShardEntry, SplitName } from '@tfmlops/data';

/** One example's raw image (HWC uint8) and, when known, its label (used to check the images line up). */
export interface ExampleImage {
  pixels: Uint8Array;
  label?: number;
}

/** Fetches the raw image of the `index`-th example of the evaluated stream. */
export type ImageLookup = (index: number) => Promise<ExampleImage>;

/** What the lookup needs from a prepared dataset (`PreparedDataset` from @tfmlops/data has it). */
export interface ShardedImages {
  readonly imageShape: [number, number, number];
  shards(split: SplitName): ShardEntry[];
  readShard(entry: ShardEntry): Promise<Shard>;
}

/**
 * Raw images of one split by position, in the order `dataset.batches(split, { shuffle: false })` yields them (shards
 * in manifest order, images in shard order): what `evaluateModel`'s `index` refers to when it evaluated that stream.
 */
export function datasetImages(dataset: ShardedImages, split: SplitName): ImageLookup {
  const entries = dataset.shards(split);
  const starts: number[] = [];
  let total = 0;
  for (const entry of entries) {
    starts.push(total);
    total += entry.count;
  }
  const [height, width, channels] = dataset.imageShape;
  const size = height * width * channels;
  return async (index) => {
    if (!Number.isInteger(index) || index < 0 || index >= total) {
      throw new RangeError(`example ${index} is outside the ${split} split (0..${total - 1})`);
    }
    let s = entries.length - 1;
    while (starts[s]! > index) s -= 1;
    const shard = await dataset.readShard(entries[s]!);
    const offset = index - starts[s]!;
    return {
      pixels: shard.pixels.slice(offset * size, (offset + 1) * size),
      label: shard.labels[offset]!,
    };
  };
}
