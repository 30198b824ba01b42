import {
  type AugmentFn,
  composeAugmentations,
  type Normalization,
  randomBrightness,
  randomContrast,
  randomCrop,
  randomFlip,
  randomShift,
} from '@tfmlops/data';
import type { AugmentationConfig } from '../train-config.ts';

/**
 * The loader's augment hook for `train.augmentation`, or undefined when every augmentation is off. Geometry first
 * (shift or crop, flip), then photometric changes, which clip to the pixel range the dataset's normalisation maps.
 */
export function buildAugmentation(
  config: AugmentationConfig,
  normalization: Normalization,
): AugmentFn | undefined {
  const steps: AugmentFn[] = [];
  if (config.shift > 0) steps.push(randomShift({ maxPixels: config.shift }));
  if (config.crop > 0) steps.push(randomCrop({ padding: config.crop, normalization }));
  if (config.flip) steps.push(randomFlip());
  if (config.brightness > 0) steps.push(randomBrightness({ maxDelta: config.brightness, normalization }));
  if (config.contrast > 0) steps.push(randomContrast({ amount: config.contrast, normalization }));
  return steps.length === 0 ? undefined : composeAugmentations(...steps);
}
