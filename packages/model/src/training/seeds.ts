import { createHash } from 'node:crypto';

/**
 * The seed of epoch `epoch`'s shuffle and augmentation (the loader derives one stream for each from it): a function
 * of `train.seed` and the epoch alone, so a resumed run draws exactly the batches the uninterrupted one would.
 */
export function epochSeed(seed: number, epoch: number): number {
  return createHash('sha256')
    .update(JSON.stringify([seed, 'epoch', epoch]))
    .digest()
    .readUInt32LE(0);
}
