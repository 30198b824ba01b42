import { MlopsError, type MlopsErrorOptions } from '@tfmlops/core';

export interface HttpErrorOptions extends MlopsErrorOptions {
  /** Seconds a client should wait before retrying (sent as Retry-After). */
  retryAfterSeconds?: number;
}

/**
 * An error answered with a given HTTP status: `{error: {code, message}}` (and `hint` when there is one). Everything
 * the service rejects on purpose is one of these; anything else is a bug and becomes a generic 500.
 */
export class HttpError extends MlopsError {
  readonly statusCode: number;
  readonly retryAfterSeconds: number | undefined;

  constructor(statusCode: number, code: string, message: string, options: HttpErrorOptions = {}) {
    super(code, message, options);
    this.statusCode = statusCode;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** The client sent something the service will not process; 4xx. */
export const badRequest = (code: string, message: string, options?: HttpErrorOptions) =>
  new HttpError(400, code, message, options);

/** The image is well-formed HTTP but not an image this model can take; 422. */
export const unprocessableImage = (code: string, message: string, options?: HttpErrorOptions) =>
  new HttpError(422, code, message, options);

/** The service cannot take the request now; 503 with Retry-After. */
export const unavailable = (code: string, message: string, retryAfterSeconds = 1, hint?: string) =>
  new HttpError(503, code, message, { retryAfterSeconds, hint });
