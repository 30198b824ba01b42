/**
 * Test support for the contract tests of the Open Inference Protocol v2 REST API (oip-*.test.ts), which are written
 * from the published specification, not from this implementation's output. Sources quoted in them:
 * - [OIP] github.com/kserve/open-inference-protocol, specification/protocol/inference_rest.md (and its OpenAPI
 *   document open_inference_rest.yaml);
 * - [V2] github.com/kserve/kserve, docs/predict-api/v2/required_api.md (the "Predict Protocol - Version 2" it grew from);
 * - [KServe] kserve/kserve python/kserve/kserve/errors.py: how KServe's own server maps errors to HTTP statuses;
 * - [Triton] triton-inference-server/server docs/protocol/extension_classification.md.
 * The model is the tiny two-class bundle of the service tests (16x16x1 images, labels ["top", "bottom"]).
 */
import { expect } from 'vitest';
import type { TestApp } from '../../../../tests/support/serve/test-app.ts';
import { TINY_NORMALIZATION, TINY_SIZE } from '../../../../tests/support/serve/tiny-bundle.ts';
import { startTinyService, type TinyService } from '../tiny-service.test-support.ts';

export const BODY_LIMIT = 300_000;
export const MAX_QUEUE = 64;
export const IMAGE = TINY_SIZE * TINY_SIZE;

/** The service the OIP tests share within a file: trained, published and loaded once per file. */
export function startOipService(): Promise<TinyService> {
  return startTinyService('serve-oip-', { bodyLimitBytes: BODY_LIMIT, maxQueue: MAX_QUEUE });
}

/** GET and POST .../infer helpers; without an explicit app they talk to `current()`, the file's service. */
export function oipRequests(current: () => TestApp) {
  const get = (url: string, app = current()) => app.app.inject({ method: 'GET', url });
  const infer = (payload: unknown, url = '/v2/models/tiny/infer', app = current()) =>
    app.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json' },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
  return { get, infer };
}

/** `$request_input` for a batch of our test images, as raw pixels. */
export function uint8Input(images: Uint8Array[], shape?: number[]) {
  return {
    name: 'input',
    shape: shape ?? [images.length, TINY_SIZE, TINY_SIZE, 1],
    datatype: 'UINT8',
    data: images.flatMap((image) => Array.from(image)),
  };
}

/** The same images normalised as the bundle says, for FP32 requests. */
export function fp32Data(image: Uint8Array): number[] {
  const [mean] = TINY_NORMALIZATION.mean as [number];
  const [std] = TINY_NORMALIZATION.std as [number];
  return Array.from(image, (v) => Math.fround((v / 255 - mean) / std));
}

/** The body of an error answer: exactly `{"error": <string>}`. */
export function errorOf(response: { statusCode: number; json(): unknown }): string {
  const body = response.json() as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error).toBe('string');
  return body.error as string;
}
