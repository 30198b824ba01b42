import { createRandom } from '@tfmlops/core';
import { describe, expect, it } from 'vitest';
import {
  composeAugmentations,
  normalizedPixelRange,
  randomBrightness,
  randomContrast,
  randomCrop,
  randomFlip,
  randomShift,
} from './augment.ts';

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

  it('randomCrop pads with black (pixel 0 in normalised units) and crops back at a random offset', () => {
    // mean 0.5, std 0.25: pixel 0 is -2 once normalised.
    const normalization = { mean: [0.5], std: [0.25] };
    const cropped = image();
    randomCrop({ padding: 1, normalization })(cropped, [1, 3, 3, 1], () => 0.99);
    expect(Array.from(cropped)).toEqual([-2, -2, -2, -2, 1, 2, -2, 4, 5]);
    const untouched = image();
    randomCrop({ padding: 1, normalization })(untouched, [1, 3, 3, 1], () => 0.5); // dx = dy = 0
    expect(Array.from(untouched)).toEqual(Array.from(image()));
  });

  it('randomBrightness adds one offset per image in pixel units (delta / std per channel), clipped to the pixel range', () => {
    const normalization = { mean: [0.5, 0.5], std: [0.25, 0.5] };
    const { lo, hi } = normalizedPixelRange(normalization);
    expect(Array.from(lo)).toEqual([-2, -1]);
    expect(Array.from(hi)).toEqual([2, 1]);
    // Two 1x1 RGB-like images of 2 channels; random() = 1 - tiny -> delta ~ +maxDelta.
    const images = Float32Array.from([0, 0, 1.9, 0.9]);
    randomBrightness({ maxDelta: 0.1, normalization })(images, [2, 1, 1, 2], () => 0.999999);
    expect(images[0]).toBeCloseTo(0.4, 4); // +0.1 / 0.25
    expect(images[1]).toBeCloseTo(0.2, 4); // +0.1 / 0.5
    expect(images[2]).toBe(2); // clipped at pixel value 1
    expect(images[3]).toBe(1);
    const same = Float32Array.from([0, 0, 1.9, 0.9]);
    randomBrightness({ maxDelta: 0.1, normalization })(same, [2, 1, 1, 2], () => 0.5); // delta 0
    expect(Array.from(same)).toEqual(Array.from(Float32Array.from([0, 0, 1.9, 0.9])));
  });

  it('randomContrast scales around each image mean per channel and equals the same change made on raw pixels', () => {
    const normalization = { mean: [0.3], std: [0.2] };
    const pixels = [0.1, 0.2, 0.4, 0.5];
    const normalised = Float32Array.from(pixels, (v) => (v - 0.3) / 0.2);
    // random() = 0.75 -> factor 1 + 0.5 * amount = 1.25.
    randomContrast({ amount: 0.5, normalization })(normalised, [1, 2, 2, 1], () => 0.75);
    const mean = 0.3;
    const expected = pixels.map((v) => ((v - mean) * 1.25 + mean - 0.3) / 0.2);
    normalised.forEach((v, i) => {
      expect(v).toBeCloseTo(expected[i] as number, 5);
    });
    // A strong contrast clips at the pixel range.
    const strong = Float32Array.from([0, 1], (v) => (v - 0.5) / 0.5);
    randomContrast({ amount: 1, normalization: { mean: [0.5], std: [0.5] } })(
      strong,
      [1, 1, 2, 1],
      () => 0.999999,
    );
    expect(Array.from(strong)).toEqual([-1, 1]);
  });

  it('the new augmentations are deterministic per seed and draw one value (or pair) per image', () => {
    const normalization = { mean: [0.5], std: [0.25] };
    const all = composeAugmentations(
      randomCrop({ padding: 2, normalization }),
      randomBrightness({ maxDelta: 0.2, normalization }),
      randomContrast({ amount: 0.3, normalization }),
    );
    const a = Float32Array.from({ length: 3 * 16 }, (_, i) => Math.sin(i));
    const b = Float32Array.from(a);
    const c = Float32Array.from(a);
    all(a, [3, 4, 4, 1], createRandom(11));
    all(b, [3, 4, 4, 1], createRandom(11));
    all(c, [3, 4, 4, 1], createRandom(12));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(c)).not.toEqual(Array.from(a));
    let draws = 0;
    const counting = () => {
      draws += 1;
      return 0.3;
    };
    all(Float32Array.from(a), [3, 4, 4, 1], counting);
    expect(draws).toBe(3 * 2 + 3 + 3);
  });
});
