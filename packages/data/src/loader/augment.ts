import type { Random } from '@tfmlops/core';

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
  return translate(options.maxPixels, undefined);
}

/**
 * The classic "pad and random-crop" (CIFAR-style): each image is padded by `padding` pixels of black (pixel value 0,
 * in the loader's normalised units) and a crop of the original size is taken at a random offset. Equivalent to a
 * random shift in [-padding, padding] with a black fill.
 */
export function randomCrop(options: { padding: number; normalization: Normalization }): AugmentFn {
  const { lo } = normalizedPixelRange(options.normalization);
  return translate(options.padding, lo);
}

/**
 * Adds one random brightness offset per image, drawn from [-maxDelta, maxDelta] in [0, 1] pixel units (0.1 = a tenth
 * of the full range) and applied to every channel, then clips to the valid pixel range — the same as
 * torchvision's `ColorJitter(brightness)` additive form, computed on normalised values (`delta / std` per channel).
 */
export function randomBrightness(options: { maxDelta: number; normalization: Normalization }): AugmentFn {
  const maxDelta = Math.max(0, options.maxDelta);
  const { lo, hi, scale } = normalizedPixelRange(options.normalization);
  return (images, [batch, height, width, channels], random) => {
    const imageSize = height * width * channels;
    for (let b = 0; b < batch; b += 1) {
      const delta = (random() * 2 - 1) * maxDelta;
      const base = b * imageSize;
      for (let p = 0; p < imageSize; p += channels) {
        for (let c = 0; c < channels; c += 1) {
          const i = base + p + c;
          images[i] = clamp(
            (images[i] as number) + delta * (scale[c] as number),
            lo[c] as number,
            hi[c] as number,
          );
        }
      }
    }
  };
}

/**
 * Scales each image's contrast by a random factor in [1 - amount, 1 + amount] around its own per-channel mean, then
 * clips to the valid pixel range. Contrast commutes with the loader's per-channel affine normalisation, so working on
 * normalised values gives exactly the result of working on pixels.
 */
export function randomContrast(options: { amount: number; normalization: Normalization }): AugmentFn {
  const amount = Math.min(1, Math.max(0, options.amount));
  const { lo, hi } = normalizedPixelRange(options.normalization);
  return (images, [batch, height, width, channels], random) => {
    const imageSize = height * width * channels;
    const pixels = height * width;
    const mean = new Float64Array(channels);
    for (let b = 0; b < batch; b += 1) {
      const factor = 1 + (random() * 2 - 1) * amount;
      const base = b * imageSize;
      mean.fill(0);
      for (let p = 0; p < imageSize; p += channels) {
        for (let c = 0; c < channels; c += 1)
          mean[c] = (mean[c] as number) + (images[base + p + c] as number);
      }
      for (let c = 0; c < channels; c += 1) mean[c] = (mean[c] as number) / pixels;
      for (let p = 0; p < imageSize; p += channels) {
        for (let c = 0; c < channels; c += 1) {
          const i = base + p + c;
          const m = mean[c] as number;
          images[i] = clamp(((images[i] as number) - m) * factor + m, lo[c] as number, hi[c] as number);
        }
      }
    }
  };
}

/** Per-channel mean and standard deviation of [0, 1] pixels, as the dataset manifest records them. */
export interface Normalization {
  mean: readonly number[];
  std: readonly number[];
}

/**
 * Where pixel values 0 and 1 land after the loader's normalisation `(v - mean) / std` (a near-zero std counts as 1,
 * as the loader does), and `1 / std`: what augmentations working on normalised values need to stay in range.
 */
export function normalizedPixelRange(normalization: Normalization): {
  lo: Float32Array;
  hi: Float32Array;
  scale: Float32Array;
} {
  const channels = normalization.mean.length;
  const lo = new Float32Array(channels);
  const hi = new Float32Array(channels);
  const scale = new Float32Array(channels);
  for (let c = 0; c < channels; c += 1) {
    const std = (normalization.std[c] ?? 1) > 1e-8 ? (normalization.std[c] as number) : 1;
    const mean = normalization.mean[c] ?? 0;
    lo[c] = (0 - mean) / std;
    hi[c] = (1 - mean) / std;
    scale[c] = 1 / std;
  }
  return { lo, hi, scale };
}

function clamp(value: number, lo: number, hi: number): number {
  return Math.min(Math.max(value, lo), hi);
}

/** Random translation by up to `maxPixels`; the uncovered border repeats the edge (`fill` undefined) or is `fill[c]`. */
function translate(maxPixels: number, fill: Float32Array | undefined): AugmentFn {
  const max = Math.max(0, Math.floor(maxPixels));
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
        const ty = y - dy;
        const sy = Math.min(height - 1, Math.max(0, ty));
        for (let x = 0; x < width; x += 1) {
          const tx = x - dx;
          const sx = Math.min(width - 1, Math.max(0, tx));
          const to = base + (y * width + x) * channels;
          if (fill && (sx !== tx || sy !== ty)) {
            for (let c = 0; c < channels; c += 1) images[to + c] = fill[c] as number;
            continue;
          }
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
