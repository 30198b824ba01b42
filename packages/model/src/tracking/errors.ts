import { MlopsError, type MlopsErrorOptions } from '@tfmlops/core';

/** A run could not be read for tracking, or a W&B upload asked for explicitly (`pnpm track sync`) failed. */
export class TrackingError extends MlopsError {
  constructor(code: `TRACKING_${string}`, message: string, options: MlopsErrorOptions = {}) {
    super(code, message, options);
  }
}
