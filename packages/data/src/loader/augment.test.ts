import { describe, expect, it } from 'vitest';
import { createRandom } from '../util/random.ts';
import { composeAugmentations, randomFlip, randomShift } from './augment.ts';

/** One 3x3 single-channel image with values 1..9, row-major. */
const image = () => Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);

describe('augmentations', () => {
  it('randomFlip mirrors rows when drawn, and never with probability 0', () => {
    const flipped = image();
    randomFlip({ probability: 1 })(flipped, [1, 3, 3, 1], createRandom(1));
    expect(Array.from(flipped)).toEqual([3, 2, 1, 6, 5, 4, 9, 8, 7]);
    const kept = image();
    randomFlip({ probability: 0 })(kept, [1, 3, 3, 1], createRandom(1));
    expect(Array.from(kept)).toEqual(Array.from(image()));
  });

  it('randomShift translates by whole pixels with edge fill, deterministically per seed', () => {
    // random() = 0.99 -> dx = dy = +1 for maxPixels 1: content moves right and down, edges repeat.
    const shifted = image();
    randomShift({ maxPixels: 1 })(shifted, [1, 3, 3, 1], () => 0.99);
    expect(Array.from(shifted)).toEqual([1, 1, 2, 1, 1, 2, 4, 4, 5]);
    const a = Float32Array.from({ length: 2 * 16 }, (_, i) => i);
    const b = Float32Array.from(a);
    const both = composeAugmentations(randomShift({ maxPixels: 2 }), randomFlip());
    both(a, [2, 4, 4, 1], createRandom(7));
    both(b, [2, 4, 4, 1], createRandom(7));
    expect(Array.from(a)).toEqual(Array.from(b));
  });
});
