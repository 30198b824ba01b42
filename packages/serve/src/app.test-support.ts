/**
 * Test support for the app's tests (app-*.test.ts): the service they all run against, on the tiny two-class bundle
 * with small limits, and the helpers they share.
 */
import type { TestApp } from '../../../tests/support/serve/test-app.ts';
import { startTinyService, type TinyService } from './tiny-service.test-support.ts';

export const TOKEN = 'test-admin-token-0123456789';
export const BODY_LIMIT = 200_000;
export const MAX_PIXELS = 1_000_000;

/** The service the app tests share within a file: trained, published and loaded once per file. */
export function startAppService(): Promise<TinyService> {
  return startTinyService('serve-app-', {
    adminToken: TOKEN,
    bodyLimitBytes: BODY_LIMIT,
    maxPixels: MAX_PIXELS,
  });
}

/** A multipart file part holding a PNG, under the form field `field`. */
export const png = (name: string, data: Buffer, field = 'file') => ({
  name: field,
  filename: name,
  contentType: 'image/png',
  data,
});

/** The first capture group of `pattern` in the app's /metrics text, as a number (NaN when absent). */
export async function metricValue(app: TestApp, pattern: RegExp): Promise<number> {
  const text = (await app.app.inject({ method: 'GET', url: '/metrics' })).body;
  return Number(pattern.exec(text)?.[1] ?? Number.NaN);
}
