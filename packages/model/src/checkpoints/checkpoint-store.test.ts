import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createStorage } from '@tfmlops/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoopState } from './checkpoint-format.ts';
import { type Checkpoint, CheckpointStore } from './checkpoint-store.ts';

let dir: string;
let store: CheckpointStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ckpt-test-'));
  store = new CheckpointStore(createStorage(), dir, createLogger({ level: 'silent' }));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function loop(epoch: number, stepInEpoch = 0): LoopState {
  return {
    epoch,
    stepInEpoch,
    globalStep: epoch * 10 + stepInEpoch,
    partial: { lossSum: 1.5, seen: stepInEpoch * 4, seconds: 0.25 },
    history: [],
    best: { best: 0.5, bestEpoch: 1, epochsWithoutImprovement: 0 },
    earlyStopping: null,
    stoppedEarly: false,
  };
}

function checkpoint(epoch: number, stepInEpoch = 0): Checkpoint {
  return {
    loop: loop(epoch, stepInEpoch),
    seed: 7,
    weights: [
      { name: 'dense/kernel', shape: [2, 3], values: Float32Array.from([1, 2, 3, 4, 5, epoch]) },
      { name: 'dense/bias', shape: [3], values: Float32Array.from([0.5, -0.5, 0.25]) },
    ],
    optimizer: {
      iterations: epoch * 10,
      slots: {
        v: [Float32Array.from([6, 5, 4, 3, 2, 1]), Float32Array.from([1, 1, 1])],
        m: [Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]), Float32Array.from([9, 8, 7])],
      },
    },
  };
}

describe('CheckpointStore', () => {
  it('writes and reads back weights, optimizer slots and loop state exactly', async () => {
    const name = await store.write(checkpoint(2), true);
    expect(name).toBe('epoch-0002');
    expect((await readdir(join(dir, name))).sort()).toEqual(['state.json', 'tensors.bin']);
    const loaded = await store.latest();
    expect(loaded?.name).toBe('epoch-0002');
    expect(loaded?.loop).toEqual(loop(2));
    expect(loaded?.seed).toBe(7);
    const original = checkpoint(2);
    expect(loaded?.weights.map((w) => [w.name, w.shape, Array.from(w.values)])).toEqual(
      original.weights.map((w) => [w.name, w.shape, Array.from(w.values)]),
    );
    expect(loaded?.optimizer.iterations).toBe(20);
    expect(Object.keys(loaded?.optimizer.slots ?? {}).sort()).toEqual(['m', 'v']);
    expect(loaded?.optimizer.slots.m?.map((a) => Array.from(a))).toEqual(
      original.optimizer.slots.m?.map((a) => Array.from(a)),
    );
    expect(loaded?.optimizer.slots.v?.map((a) => Array.from(a))).toEqual(
      original.optimizer.slots.v?.map((a) => Array.from(a)),
    );
  });

  it('orders by progress: an epoch checkpoint, then one stopped inside the next epoch, then the next epoch', async () => {
    await store.write(checkpoint(1), true);
    await store.write(checkpoint(1, 5), false);
    expect(await store.list()).toEqual(['epoch-0002-step-000005', 'epoch-0001']);
    expect((await store.latest())?.loop.stepInEpoch).toBe(5);
    await store.write(checkpoint(2), true);
    expect(await store.list()).toEqual(['epoch-0002', 'epoch-0002-step-000005', 'epoch-0001']);
  });

  it('skips a checkpoint whose state.json is missing (killed while writing) or whose tensors were damaged', async () => {
    await store.write(checkpoint(1), true);
    await store.write(checkpoint(2), true);
    await store.write(checkpoint(3), true);
    await rm(join(dir, 'epoch-0003', 'state.json'));
    await writeFile(join(dir, 'epoch-0002', 'tensors.bin'), Buffer.alloc(4 * 21));
    expect((await store.latest())?.name).toBe('epoch-0001');
  });

  it('prune keeps the newest keepLast epoch checkpoints and the best, and drops checkpoints taken inside epochs', async () => {
    for (const epoch of [1, 2, 3, 4]) await store.write(checkpoint(epoch), true);
    await store.write(checkpoint(3, 4), false);
    await store.writeBest({ checkpoint: 'epoch-0001', metric: 'val_accuracy', value: 0.9, epoch: 1 });
    await store.prune({ keepLast: 2, keep: 'epoch-0001' });
    expect(await store.list()).toEqual(['epoch-0004', 'epoch-0003', 'epoch-0001']);
    expect((await readdir(dir)).sort()).toEqual(['best.json', 'epoch-0001', 'epoch-0003', 'epoch-0004']);
  });
});
