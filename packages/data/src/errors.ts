import { DataError } from '@tfmlops/core';

/**
 * One image could not be decoded (corrupt, truncated, not an image, wrong pixel count). Callers that process many
 * images catch exactly this class, count and list the image, and go on; every other error still stops the run.
 */
export class CorruptImageError extends DataError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('DATA_CORRUPT_IMAGE', message, {
      hint: 'the file is skipped and listed in the dataset manifest; replace or delete it at the source',
      ...options,
    });
  }
}
