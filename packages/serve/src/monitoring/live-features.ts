import { imageChannelStats } from '@tfmlops/model';
import type { LiveSample } from '../drift/evaluate.ts';
import type { ObservedPrediction } from '../inference/prediction-service.ts';
import type { ServingModel } from '../model/types.ts';

/** What monitoring keeps of one answered input: the drift features, and the uint8 image when there is one. */
export interface LiveFeatures extends LiveSample {
  /** HWC uint8 pixels as the model saw them (before normalisation); rebuilt from the float input when needed. */
  pixels: () => Uint8Array;
}

/**
 * The drift features of one answered input, computed the way the bundle's reference statistics were: per-channel
 * mean and std of the preprocessed image with the model package's `imageChannelStats` (pixel values in [0,1]), the
 * top-1 class and probability, and the embedding. Inputs that arrived normalised (FP32 tensors) are mapped back to
 * [0,1] pixel units with the bundle's normalisation, which is the quantity the reference measured.
 */
export function liveFeatures(prediction: ObservedPrediction, model: ServingModel): LiveFeatures {
  const channels = model.inputShape[2];
  const { pixels } = prediction;
  const stats = pixels
    ? imageChannelStats(pixels, channels)
    : imageChannelStats(denormalized(prediction.input, model), channels, 1);
  let best = 0;
  const probabilities = prediction.probabilities;
  for (let k = 1; k < probabilities.length; k += 1) {
    if ((probabilities[k] as number) > (probabilities[best] as number)) best = k;
  }
  return {
    mean: stats.mean,
    std: stats.std,
    predictedIndex: best,
    confidence: probabilities[best] as number,
    embedding: prediction.embedding ? Array.from(prediction.embedding) : null,
    pixels: () => pixels ?? quantized(denormalized(prediction.input, model)),
  };
}

/** Normalised HWC input -> [0,1] pixel units: x * std + mean per channel (a std of ~0 was a division by 1). */
function denormalized(input: Float32Array, model: ServingModel): Float32Array {
  const channels = model.inputShape[2];
  const { mean, std } = model.manifest.normalization;
  const out = new Float32Array(input.length);
  for (let i = 0; i < input.length; i += 1) {
    const c = i % channels;
    const s = (std[c] ?? 1) > 1e-8 ? (std[c] as number) : 1;
    out[i] = (input[i] as number) * s + (mean[c] ?? 0);
  }
  return out;
}

function quantized(values: Float32Array): Uint8Array {
  return Uint8Array.from(values, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
}
