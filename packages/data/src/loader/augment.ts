import type { Random } from '../util/random.ts';

/**
 * A per-batch augmentation: changes `images` (normalised float32, NHWC, `shape` = [B,H,W,C]) in place, drawing every
 * random choice from `random` (seeded by the loader), so the same seed always gives the same augmented batches.
 * Hooks work on the plain array before it becomes a tensor: they allocate no tensors and cannot leak any.
 */
export type AugmentFn = (
  images: Float32Array,
  shape: [number, number, number, number],
  random: Random,
) => void;

/** Mirrors each image left-right with probability `probability` (default 0.5). */
export function randomFlip(options: { probability?: number } = {}): AugmentFn {
  const probability = options.probability ?? 0.5;
  return (images, [batch, height, width, channels], random) => {
    const imageSize = height * width * channels;
    for (let b = 0; b < batch; b += 1) {
      if (random() >= probability) continue;
      for (let y = 0; y < height; y += 1) {
        const row = b * imageSize + y * width * channels;
        for (let x = 0; x < Math.floor(width / 2); x += 1) {
          const left = row + x * channels;
          const right = row + (width - 1 - x) * channels;
          for (let c = 0; c < channels; c += 1) {
            const tmp = images[left + c] as number;
            images[left + c] = images[right + c] as number;
            images[right + c] = tmp;
          }
        }
      }
    }
  };
}

/**
 * Translates each image by a random whole number of pixels in [-maxPixels, maxPixels] on both axes, filling the
 * uncovered border by repeating the edge pixels (no artificial black frame).
 */
export function randomShift(options: { maxPixels: number }): AugmentFn {
  const max = Math.max(0, Math.floor(options.maxPixels));
  return (images, [batch, height, width, channels], random) => {
    const imageSize = height * width * channels;
    const copy = new Float32Array(imageSize);
    for (let b = 0; b < batch; b += 1) {
      const dx = Math.floor(random() * (2 * max + 1)) - max;
      const dy = Math.floor(random() * (2 * max + 1)) - max;
      if (dx === 0 && dy === 0) continue;
      const base = b * imageSize;
      copy.set(images.subarray(base, base + imageSize));
      for (let y = 0; y < height; y += 1) {
        const sy = Math.min(height - 1, Math.max(0, y - dy));
        for (let x = 0; x < width; x += 1) {
          const sx = Math.min(width - 1, Math.max(0, x - dx));
          const to = base + (y * width + x) * channels;
          const from = (sy * width + sx) * channels;
          for (let c = 0; c < channels; c += 1) images[to + c] = copy[from + c] as number;
        }
      }
    }
  };
}

/** Runs augmentations in order. */
export function composeAugmentations(...steps: AugmentFn[]): AugmentFn {
  return (images, shape, random) => {
    for (const step of steps) step(images, shape, random);
  };
}
