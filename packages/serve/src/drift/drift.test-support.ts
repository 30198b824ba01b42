// Synthetic populations of live inputs and references built from them, for the drift tests.
import { createRandom } from '@tfmlops/core';
import {
  CONFIDENCE_RANGE,
  equalWidthEdges,
  histogram,
  PIXEL_MEAN_RANGE,
  PIXEL_STD_RANGE,
  type ReferenceStatistics,
} from '@tfmlops/model';
import type { LiveSample } from './evaluate.ts';

export const CLASSES = 4;

/** A population of inputs: brightness around `brightness`, classes with the given weights, 3-d embeddings around `centre`. */
export function population(
  count: number,
  seed: number,
  { brightness = 0.3, weights = [1, 1, 1, 1], centre = 0 } = {},
): LiveSample[] {
  const random = createRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const total = weights.reduce((a, b) => a + b, 0);
  return Array.from({ length: count }, () => {
    let pick = random() * total;
    let predictedIndex = 0;
    while (pick > (weights[predictedIndex] as number)) pick -= weights[predictedIndex++] as number;
    return {
      mean: [brightness + 0.03 * normal()],
      std: [0.3 + 0.02 * normal()],
      predictedIndex,
      confidence: Math.min(1, 0.9 + 0.05 * normal()),
      embedding: [centre + normal(), normal(), normal()],
    };
  });
}

export function referenceOf(samples: LiveSample[]): ReferenceStatistics {
  const feature = (values: number[], range: [number, number]) => ({
    histogram: histogram(values, equalWidthEdges(range)),
    sample: values,
  });
  const predictedClass = new Array<number>(CLASSES).fill(0);
  for (const s of samples) predictedClass[s.predictedIndex] = (predictedClass[s.predictedIndex] ?? 0) + 1;
  return {
    split: 'val',
    count: samples.length,
    pixels: [
      {
        mean: feature(
          samples.map((s) => s.mean[0]!),
          PIXEL_MEAN_RANGE,
        ),
        std: feature(
          samples.map((s) => s.std[0]!),
          PIXEL_STD_RANGE,
        ),
      },
    ],
    predictedClass,
    confidence: feature(
      samples.map((s) => s.confidence),
      CONFIDENCE_RANGE,
    ),
    embeddings: { layer: 'embedding', dimensions: 3, sample: samples.slice(0, 300).map((s) => s.embedding!) },
  };
}
