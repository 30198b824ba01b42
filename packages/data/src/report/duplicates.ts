import type { SplitName } from '../format/manifest.ts';
import { hammingDistance } from './image-hash.ts';

/** One image of the dataset as the duplicate search sees it. `ref` is `<shard file>#<index>`. */
export interface HashedImage {
  ref: string;
  split: SplitName;
  label: number;
  exact: string;
  dhash: Uint32Array;
}

export interface DuplicatePair {
  a: HashedImage;
  b: HashedImage;
  /** Hamming distance of the dHashes (0 for exact duplicates). */
  distance: number;
}

export interface DuplicateFindings {
  /** Groups of byte-identical images (two or more). */
  exactGroups: HashedImage[][];
  /** Pairs of byte-identical images in different splits: leakage. */
  exactCrossSplitPairs: number;
  /** Pairs in different splits within the threshold (and confirmed, when a check is given), not exact duplicates. */
  nearCrossSplitPairs: number;
  /** Cross-split pairs within the hash threshold before the confirm check. */
  hashCandidates: number;
  /** Up to `maxExamples` cross-split pairs, exact ones first. */
  examples: DuplicatePair[];
  /** Images of val/test that have an exact or near duplicate in train. */
  evalImagesSeenInTrain: number;
}

/**
 * Exact duplicates by pixel hash, and near-duplicates across splits by dHash Hamming distance <= `threshold`.
 * Near pairs are found with multi-index hashing: the hash bits are dealt into `threshold + 1` chunks, and two hashes
 * within the threshold must agree exactly on at least one chunk (pigeonhole), so only images sharing a chunk value
 * are compared — exact, and far from all-pairs on real data.
 *
 * A hash of a small, simple image (a 28x28 digit) says little: many "1"s hash alike. `confirm` is therefore asked
 * about every hash match, and the report passes a pixel comparison, so only pictures that really look the same are
 * called near-duplicates.
 */
export function findDuplicates(
  images: readonly HashedImage[],
  threshold: number,
  options: { maxExamples?: number; confirm?: (a: HashedImage, b: HashedImage) => boolean } = {},
): DuplicateFindings {
  const maxExamples = options.maxExamples ?? 50;
  const groups = new Map<string, HashedImage[]>();
  for (const image of images) {
    const group = groups.get(image.exact);
    if (group) group.push(image);
    else groups.set(image.exact, [image]);
  }
  const exactGroups = [...groups.values()].filter((group) => group.length > 1);
  const examples: DuplicatePair[] = [];
  const seenInTrain = new Set<string>();
  let exactCrossSplitPairs = 0;
  for (const group of exactGroups) {
    for (let i = 0; i < group.length; i += 1) {
      for (let j = i + 1; j < group.length; j += 1) {
        const a = group[i] as HashedImage;
        const b = group[j] as HashedImage;
        if (a.split === b.split) continue;
        exactCrossSplitPairs += 1;
        markLeak(a, b, seenInTrain);
        if (examples.length < maxExamples) examples.push({ a, b, distance: 0 });
      }
    }
  }

  const chunks = threshold + 1;
  const assignment = dealBits(images, chunks);
  const keys = images.map((image) => chunkKeys(image.dhash, assignment, chunks));
  let nearCrossSplitPairs = 0;
  let hashCandidates = 0;
  for (let chunk = 0; chunk < chunks; chunk += 1) {
    const buckets = new Map<number, number[]>();
    keys.forEach((imageKeys, index) => {
      const key = imageKeys[chunk] as number;
      const bucket = buckets.get(key);
      if (bucket) bucket.push(index);
      else buckets.set(key, [index]);
    });
    for (const bucket of buckets.values()) {
      for (let i = 0; i < bucket.length; i += 1) {
        const ia = bucket[i] as number;
        const a = images[ia] as HashedImage;
        for (let j = i + 1; j < bucket.length; j += 1) {
          const ib = bucket[j] as number;
          const b = images[ib] as HashedImage;
          if (a.split === b.split || a.exact === b.exact) continue;
          // Count each pair once: in the first chunk the two agree on.
          if (firstSharedChunk(keys[ia] as number[], keys[ib] as number[]) !== chunk) continue;
          const distance = hammingDistance(a.dhash, b.dhash);
          if (distance > threshold) continue;
          hashCandidates += 1;
          if (options.confirm && !options.confirm(a, b)) continue;
          nearCrossSplitPairs += 1;
          markLeak(a, b, seenInTrain);
          if (examples.length < maxExamples) examples.push({ a, b, distance });
        }
      }
    }
  }
  return {
    exactGroups,
    exactCrossSplitPairs,
    nearCrossSplitPairs,
    hashCandidates,
    examples,
    evalImagesSeenInTrain: seenInTrain.size,
  };
}

function markLeak(a: HashedImage, b: HashedImage, seenInTrain: Set<string>): void {
  if (a.split === 'train' && b.split !== 'train') seenInTrain.add(b.ref);
  if (b.split === 'train' && a.split !== 'train') seenInTrain.add(a.ref);
}

/**
 * Which chunk each hash bit goes to. Bits are ranked by how evenly they split the dataset (a bit that is 0 for every
 * image - a blank border - tells nothing) and dealt round-robin, so every chunk gets its share of informative bits
 * and buckets stay small. Any assignment keeps the pigeonhole guarantee.
 */
function dealBits(images: readonly HashedImage[], chunks: number): Int32Array {
  const bits = (images[0]?.dhash.length ?? 0) * 32;
  const ones = new Float64Array(bits);
  for (const image of images) {
    for (let bit = 0; bit < bits; bit += 1)
      ones[bit] = (ones[bit] as number) + (((image.dhash[bit >>> 5] as number) >>> (bit & 31)) & 1);
  }
  const balance = (bit: number) => Math.abs((ones[bit] as number) / Math.max(1, images.length) - 0.5);
  const order = Array.from({ length: bits }, (_, bit) => bit).sort(
    (a, b) => balance(a) - balance(b) || a - b,
  );
  const assignment = new Int32Array(bits);
  order.forEach((bit, rank) => {
    assignment[bit] = rank % chunks;
  });
  return assignment;
}

function chunkKeys(hash: Uint32Array, assignment: Int32Array, chunks: number): number[] {
  const keys = new Array<number>(chunks).fill(0);
  for (let bit = 0; bit < assignment.length; bit += 1) {
    const value = ((hash[bit >>> 5] as number) >>> (bit & 31)) & 1;
    const chunk = assignment[bit] as number;
    // Plain numbers are exact to 53 bits; longer chunks (tiny thresholds) wrap, which only adds candidates.
    keys[chunk] = ((keys[chunk] as number) * 2 + value) % 2 ** 52;
  }
  return keys;
}

function firstSharedChunk(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i += 1) if (a[i] === b[i]) return i;
  return -1;
}
