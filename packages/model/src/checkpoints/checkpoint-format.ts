import { z } from 'zod';

export const CHECKPOINT_FORMAT_VERSION = 1;
export const STATE_FILE = 'state.json';
export const TENSORS_FILE = 'tensors.bin';
export const BEST_FILE = 'best.json';

const monitorStateSchema = z.strictObject({
  best: z.number().nullable(),
  bestEpoch: z.number().int().nullable(),
  epochsWithoutImprovement: z.number().int().min(0),
});

const epochMetricsSchema = z.strictObject({
  epoch: z.number().int().positive(),
  loss: z.number().nullable(),
  accuracy: z.number().nullable(),
  val_loss: z.number().nullable(),
  val_accuracy: z.number().nullable(),
  lr: z.number(),
  images_per_second: z.number().nullable(),
  seconds: z.number(),
});

/** Where the loop stands: enough to continue exactly where it stopped. */
export const loopStateSchema = z.strictObject({
  /** Epochs finished (trained and validated). */
  epoch: z.number().int().min(0),
  /** Steps of the next epoch already trained; 0 at an epoch boundary. */
  stepInEpoch: z.number().int().min(0),
  /** Optimizer steps since the start of the run (the learning-rate schedule's clock). */
  globalStep: z.number().int().min(0),
  /** Running sums of the epoch in progress, so its metrics come out as if it had never stopped. */
  partial: z.strictObject({
    lossSum: z.number(),
    seen: z.number().int().min(0),
    seconds: z.number().min(0),
  }),
  history: z.array(epochMetricsSchema),
  best: monitorStateSchema,
  earlyStopping: monitorStateSchema.nullable(),
  stoppedEarly: z.boolean(),
});

const shapeSchema = z.array(z.number().int().min(0));

/** state.json of a checkpoint: the loop state and the layout of tensors.bin, written after tensors.bin. */
export const checkpointStateSchema = z.strictObject({
  formatVersion: z.literal(CHECKPOINT_FORMAT_VERSION),
  createdAt: z.string(),
  loop: loopStateSchema,
  /**
   * The shuffle and augmentation of epoch e draw from seeds derived from (`train.seed`, e), and weight
   * initialisation from `train.seed`: the seed and the epoch are the whole random state of the loop.
   */
  rng: z.strictObject({ seed: z.number().int(), epoch: z.number().int() }),
  tensors: z.strictObject({
    file: z.literal(TENSORS_FILE),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    bytes: z.number().int().min(0),
    /** Every model weight (trainable or not, e.g. batch-norm statistics) in `model.weights` order, float32. */
    weights: z.array(z.strictObject({ name: z.string(), shape: shapeSchema })),
    optimizer: z.strictObject({
      iterations: z.number().int().min(0),
      /** Slot name -> one array per trainable variable, in `model.trainableWeights` order. */
      slots: z.record(z.string(), z.array(z.strictObject({ length: z.number().int().min(0) }))),
    }),
  }),
});

export type LoopState = z.output<typeof loopStateSchema>;
export type CheckpointState = z.output<typeof checkpointStateSchema>;

/** `epoch-0003` after epoch 3 finished; `epoch-0004-step-000120` when stopped 120 steps into epoch 4. */
export function checkpointName(loop: Pick<LoopState, 'epoch' | 'stepInEpoch'>, complete: boolean): string {
  const epoch = String(complete ? loop.epoch : loop.epoch + 1).padStart(4, '0');
  return complete ? `epoch-${epoch}` : `epoch-${epoch}-step-${String(loop.stepInEpoch).padStart(6, '0')}`;
}

const NAME = /^epoch-(\d{4,})(?:-step-(\d{6,}))?$/;

/** Parses a checkpoint directory name; undefined for anything else. */
export function parseCheckpointName(name: string): { epoch: number; step: number | undefined } | undefined {
  const match = NAME.exec(name);
  if (!match) return undefined;
  return { epoch: Number(match[1]), step: match[2] === undefined ? undefined : Number(match[2]) };
}
