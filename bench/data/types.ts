/** Shapes shared by the data benchmark's parent, its child processes and its report (no logic here). */

/** One contender's figures from one round (one child process). */
export interface DataSample {
  imagesPerSecond: number;
  /** CPU time per image over the timed pass, all threads of the process; where the child can tell. */
  cpuMsPerImage?: number;
  /** Ours only: CPU time of one sharp call on an 8x8 JPEG (the fixed cost every image pays). */
  sharpFixedCostMs?: number;
  /** Ours only: CPU time of decoding one source JPEG to raw pixels, nothing else. */
  decodeOnlyCpuMs?: number;
}

export interface DataRow {
  id: string;
  label: string;
  task: string;
  /** `preprocess` rows are compared with the PIL peer; `prepare` rows are our whole pipeline, for context. */
  kind: 'ours-preprocess' | 'pil' | 'prepare-imagefolder' | 'prepare-mnist';
  samples: DataSample[];
  /** Images one pass handles. */
  images: number;
}
