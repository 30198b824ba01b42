import { CorruptImageError, normalizePixels, preprocessImage } from '@tfmlops/data';
import { unprocessableImage } from '../errors.ts';
import type { ModelInputSpec } from '../model/types.ts';
import { checkImageHeader, type ImageHeader } from './image-check.ts';

/** One image made ready for the network. */
export interface PreparedImage {
  header: ImageHeader;
  /** HWC uint8 pixels exactly as training saw them (the data package's preprocessImage with the bundle's spec). */
  pixels: Uint8Array;
  /** The network input: `pixels` normalised with the bundle's mean/std, HWC float32. */
  input: Float32Array;
}

/**
 * Image file bytes -> network input, by the same functions training used: the header checks, then the data
 * package's `preprocessImage` with the bundle's preprocessing spec and its `normalizePixels` with the bundle's
 * normalisation.
 */
export async function prepareImage(
  bytes: Uint8Array,
  model: ModelInputSpec,
  maxPixels: number,
): Promise<PreparedImage> {
  const header = await checkImageHeader(bytes, model.preprocess, maxPixels);
  let pixels: Uint8Array;
  try {
    pixels = await preprocessImage(bytes, model.preprocess);
  } catch (error) {
    if (!(error instanceof CorruptImageError)) throw error;
    throw unprocessableImage('IMAGE_UNDECODABLE', error.message, {
      cause: error,
      hint: 'the file is damaged or truncated; send it again',
    });
  }
  return { header, pixels, input: normalizeInput(pixels, model) };
}

/** Raw HWC uint8 pixels of the model's input shape -> normalised float32 input (for callers that decode elsewhere). */
export function normalizeInput(pixels: Uint8Array, model: ModelInputSpec): Float32Array {
  const input = new Float32Array(pixels.length);
  normalizePixels(pixels, model.normalizationTable, model.inputShape[2], input);
  return input;
}
