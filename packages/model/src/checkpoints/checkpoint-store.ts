import { createHash } from 'node:crypto';
import { joinUri, type Logger, type Storage } from '@tfmlops/core';
import type { OptimizerState } from '../optim/types.ts';
import {
  BEST_FILE,
  CHECKPOINT_FORMAT_VERSION,
  type CheckpointState,
  checkpointName,
  checkpointStateSchema,
  type LoopState,
  parseCheckpointName,
  STATE_FILE,
  TENSORS_FILE,
} from './checkpoint-format.ts';

/** What a checkpoint holds, in memory. */
export interface Checkpoint {
  loop: LoopState;
  seed: number;
  weights: Array<{ name: string; shape: number[]; values: Float32Array }>;
  optimizer: OptimizerState;
}

export interface LoadedCheckpoint extends Checkpoint {
  name: string;
  uri: string;
}

/**
 * Checkpoints of one run under `<run>/checkpoints/`: one directory per checkpoint holding `tensors.bin` (float32
 * weights, then optimizer slots) and `state.json` (loop state, layout, SHA-256 of tensors.bin). Each file is written
 * atomically and state.json last, so a checkpoint is either whole or ignored: a process killed while writing one
 * leaves the previous checkpoint as the newest valid one.
 */
export class CheckpointStore {
  constructor(
    private readonly storage: Storage,
    /** `<run>/checkpoints`. */
    readonly uri: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Writes a checkpoint; `complete` marks an epoch boundary (trained and validated), otherwise the loop stopped inside
   * an epoch. Returns its name.
   */
  async write(checkpoint: Checkpoint, complete: boolean): Promise<string> {
    const name = checkpointName(checkpoint.loop, complete);
    const dir = joinUri(this.uri, name);
    const slotNames = Object.keys(checkpoint.optimizer.slots).sort();
    const arrays = [
      ...checkpoint.weights.map((weight) => weight.values),
      ...slotNames.flatMap((slot) => checkpoint.optimizer.slots[slot] ?? []),
    ];
    const bytes = Buffer.concat(
      arrays.map((array) => Buffer.from(array.buffer, array.byteOffset, array.byteLength)),
    );
    const state: CheckpointState = {
      formatVersion: CHECKPOINT_FORMAT_VERSION,
      createdAt: new Date().toISOString(),
      loop: checkpoint.loop,
      rng: { seed: checkpoint.seed, epoch: checkpoint.loop.epoch + (complete ? 0 : 1) },
      tensors: {
        file: TENSORS_FILE,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        bytes: bytes.byteLength,
        weights: checkpoint.weights.map(({ name: weightName, shape }) => ({ name: weightName, shape })),
        optimizer: {
          iterations: checkpoint.optimizer.iterations,
          slots: Object.fromEntries(
            slotNames.map((slot) => [
              slot,
              (checkpoint.optimizer.slots[slot] ?? []).map((a) => ({ length: a.length })),
            ]),
          ),
        },
      },
    };
    // A re-written checkpoint (same name) is invalid between the two writes, never a mix of old and new.
    await this.storage.delete(joinUri(dir, STATE_FILE));
    await this.storage.write(joinUri(dir, TENSORS_FILE), bytes);
    await this.storage.write(joinUri(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
    return name;
  }

  /** Records which checkpoint is the best so far (for people and tools; resuming does not need it). */
  async writeBest(best: { checkpoint: string; metric: string; value: number; epoch: number }): Promise<void> {
    await this.storage.write(joinUri(this.uri, BEST_FILE), `${JSON.stringify(best, null, 2)}\n`);
  }

  /** Names of the checkpoint directories present, newest first (whole or not). */
  async list(): Promise<string[]> {
    const names = new Set<string>();
    for (const entry of await this.storage.list(this.uri)) {
      const name = entry.relativePath.split('/')[0] as string;
      if (parseCheckpointName(name)) names.add(name);
    }
    return [...names].sort((a, b) => progressOf(b) - progressOf(a));
  }

  /** The newest checkpoint that reads back whole (state valid, tensors matching their hash), or undefined. */
  async latest(): Promise<LoadedCheckpoint | undefined> {
    for (const name of await this.list()) {
      try {
        return await this.read(name);
      } catch (error) {
        this.logger.warn(
          { checkpoint: name, error: (error as Error).message },
          'skipping an incomplete or damaged checkpoint',
        );
      }
    }
    return undefined;
  }

  async read(name: string): Promise<LoadedCheckpoint> {
    const dir = joinUri(this.uri, name);
    const state = checkpointStateSchema.parse(
      JSON.parse((await this.storage.read(joinUri(dir, STATE_FILE))).toString('utf8')),
    );
    const data = await this.storage.read(joinUri(dir, TENSORS_FILE));
    const sha256 = createHash('sha256').update(data).digest('hex');
    if (data.byteLength !== state.tensors.bytes || sha256 !== state.tensors.sha256) {
      throw new Error(
        `${TENSORS_FILE} does not match state.json (${data.byteLength} bytes, SHA-256 ${sha256.slice(0, 12)}…)`,
      );
    }
    // Copy out of the Buffer: its memory may be shared and is not float-aligned.
    const floats = new Float32Array(data.byteLength / 4);
    Buffer.from(floats.buffer).set(data);
    let offset = 0;
    const take = (length: number) => {
      const values = floats.subarray(offset, offset + length);
      offset += length;
      return values;
    };
    const weights = state.tensors.weights.map(({ name: weightName, shape }) => ({
      name: weightName,
      shape,
      values: take(shape.reduce((a, b) => a * b, 1)),
    }));
    const slots: Record<string, Float32Array[]> = {};
    for (const slot of Object.keys(state.tensors.optimizer.slots).sort()) {
      slots[slot] = (state.tensors.optimizer.slots[slot] ?? []).map(({ length }) => take(length));
    }
    if (offset !== floats.length)
      throw new Error(`${TENSORS_FILE} holds ${floats.length} values, state.json lists ${offset}`);
    return {
      name,
      uri: dir,
      loop: state.loop,
      seed: state.rng.seed,
      weights,
      optimizer: { iterations: state.tensors.optimizer.iterations, slots },
    };
  }

  /**
   * After an epoch's checkpoint: removes checkpoints stopped inside an epoch (older than it by construction), and
   * epoch checkpoints beyond the newest `keepLast`, except `keep` (the best one).
   */
  async prune({ keepLast, keep }: { keepLast: number; keep?: string }): Promise<void> {
    const names = await this.list();
    const complete = names.filter((name) => parseCheckpointName(name)?.step === undefined);
    const doomed = [
      ...names.filter((name) => parseCheckpointName(name)?.step !== undefined),
      ...complete.slice(keepLast).filter((name) => name !== keep),
    ];
    for (const name of doomed) {
      const dir = joinUri(this.uri, name);
      // state.json first: a half-deleted checkpoint is then ignored rather than read as damaged.
      await this.storage.delete(joinUri(dir, STATE_FILE));
      await this.storage.deleteTree(dir);
    }
  }
}

/** How far a checkpoint got: epochs finished, then steps into the next (an epoch's own checkpoint after any inside it). */
function progressOf(name: string): number {
  const parsed = parseCheckpointName(name);
  if (!parsed) return -1;
  return parsed.step === undefined ? parsed.epoch * 1e9 : (parsed.epoch - 1) * 1e9 + parsed.step;
}
