// The report's JSON shape, shared by report.ts (which measures) and markdown.ts (which renders).
import type { SplitName } from '../format/manifest.ts';

export interface PairJson {
  a: string;
  b: string;
  splits: [SplitName, SplitName];
  labels: [string, string];
  distance: number;
}

export interface DataReport {
  dataset: {
    name: string;
    version: string;
    uri: string;
    source: { kind: string; origin: string };
    imageShape: [number, number, number];
    preprocess: unknown;
    split: unknown;
  };
  counts: Record<SplitName, { total: number; perClass: Record<string, number> }>;
  /** Per split: the rarest and the commonest class and their ratio (1 = perfectly balanced). */
  classBalance: Record<
    SplitName,
    { min: { class: string; count: number }; max: { class: string; count: number }; ratio: number } | null
  >;
  /** Per split and channel, pixel values in [0, 1]. */
  pixels: Record<SplitName, { mean: number[]; std: number[]; min: number[]; max: number[] }>;
  skipped: { count: number; items: Array<{ id: string; split: SplitName; reason: string }> };
  duplicates: {
    /** Images are named `<shard file>#<index in shard>`. */
    exact: { groups: number; images: number; crossSplitPairs: number };
    near: {
      method: string;
      threshold: number;
      pixelTolerance: number | null;
      /** Cross-split pairs within the hash threshold, before the pixel check. */
      hashCandidates: number;
      crossSplitPairs: number;
    };
    evalImagesSeenInTrain: number;
    examples: PairJson[];
  };
  files: { samples: string; histogram: string; duplicates: string | null };
}
