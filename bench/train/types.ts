/** Shapes shared by the train benchmark's parent, its child processes and its report (no logic here). */

/** How much each engine runs per round; the parent passes the same numbers to our engines and to PyTorch. */
export interface TrainProtocol {
  /** Training batch size. */
  batch: number;
  /** Untimed training steps first (JIT, kernel selection, oneDNN primitive caches, wasm heap growth). */
  warmupSteps: number;
  /** Timed training steps; the loss is read back after every step, as a loop logging it would. */
  trainSteps: number;
  /** Untimed batch-inference calls before each timed inference loop. */
  inferWarmup: number;
  /** Timed batch-256 inference calls; batch 64 runs 4x as many calls (the same number of images). */
  inferRuns: number;
  /** Untimed single-image calls before the latency samples. */
  latencyWarmup: number;
  /** Single-image calls timed one by one for the latency percentiles. */
  latencyRuns: number;
}

/** One engine's figures from one round (one child process). */
export interface TrainSample {
  trainImagesPerSecond: number;
  /** Batch 256, one call per batch, result read back. */
  inferImagesPerSecond: number;
  /** Batch 64 (the training batch), same loop. */
  inferBatch64ImagesPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** PyTorch only: the inference figures again under `torch.no_grad()` (the main ones use `torch.inference_mode()`). */
  noGrad?: { inferImagesPerSecond: number; latencyP50Ms: number; latencyP99Ms: number };
}

/** A network as both sides describe it, in PyTorch's conventions (NCHW outputs, [out, in, kh, kw] kernels). */
export interface NetworkDescription {
  layers: Array<{
    /** `conv2d+relu`, `maxpool2d`, `flatten`, `linear+relu`, `linear`: an activation folded into its layer. */
    kind: string;
    /** Output shape of one example, without the batch axis. */
    output: number[];
    /** Parameter shapes, weight then bias. */
    parameters: number[][];
  }>;
  parameterCount: number;
}

/** One engine as the report sees it. */
export interface EngineRow {
  id: string;
  label: string;
  side: 'ours' | 'pytorch';
  samples: TrainSample[];
  /** PyTorch's configuration, for the notes that compare configurations. */
  torch?: { threads: number; layout: 'contiguous' | 'channels_last'; blas: string };
}
