/**
 * Contract tests of the Open Inference Protocol v2 REST API: health, server and model metadata, and the API
 * documentation. Written from the published specification, not from this implementation's output; the sources
 * quoted as [OIP], [V2], [KServe] and [Triton] are listed in oip.test-support.ts.
 */
import type { Storage } from '@tfmlops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../../tests/support/serve/test-app.ts';
import {
  halfPixels,
  TINY_LABELS,
  TINY_NORMALIZATION,
  TINY_SIZE,
} from '../../../../tests/support/serve/tiny-bundle.ts';
import type { TinyService } from '../tiny-service.test-support.ts';
import { errorOf, oipRequests, startOipService, uint8Input } from './oip.test-support.ts';

let service: TestApp;
let modelUri: string;
let version: string;
let storage: Storage;
let tiny: TinyService;
const { get, infer } = oipRequests(() => service);

beforeAll(async () => {
  tiny = await startOipService();
  ({ service, modelUri, version, storage } = tiny);
});

afterAll(async () => {
  await tiny?.close();
});

describe('health and metadata', () => {
  it('GET /v2 answers the server metadata', async () => {
    // [OIP] "A successful server metadata request is indicated by a 200 HTTP status code."
    //   $metadata_server_response = { "name" : $string, "version" : $string, "extensions" : [ $string, ... ] }
    // [Triton] "Because this extension is supported, Triton reports “classification” in the extensions field".
    for (const url of ['/v2', '/v2/']) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(200);
      const body = response.json();
      expect(Object.keys(body).sort()).toEqual(['extensions', 'name', 'version']);
      expect(typeof body.name).toBe('string');
      expect(typeof body.version).toBe('string');
      expect(body.extensions).toEqual(['classification']);
    }
  });

  it('GET /v2/health/live and /v2/health/ready answer 200 once the model is warm', async () => {
    // [OIP] $live_server_response = { "live" : $bool }; [V2] "A 200 status code indicates true".
    const live = await get('/v2/health/live');
    expect([live.statusCode, live.json()]).toEqual([200, { live: true }]);
    const ready = await get('/v2/health/ready');
    expect([ready.statusCode, ready.json()]).toEqual([200, { ready: true }]);
  });

  it('before the model is loaded: live, not ready (a 4xx), and inference gets 503 + Retry-After in the protocol format', async () => {
    // [V2] "A 200 status code indicates true and a 4xx status code indicates false."
    const loading = await buildTestApp({ modelUri }, storage, { start: false });
    try {
      expect((await get('/v2/health/live', loading)).statusCode).toBe(200);
      const ready = await get('/v2/health/ready', loading);
      expect(ready.statusCode).toBe(400);
      expect(ready.json()).toEqual({ ready: false });
      const model = await get('/v2/models/tiny/ready', loading);
      expect([model.statusCode, model.json()]).toEqual([400, { name: 'tiny', ready: false }]);
      // Not a client error: the service is starting. 503 with Retry-After, in the protocol's error format.
      const early = await infer({ inputs: [uint8Input([halfPixels('top')])] }, undefined, loading);
      expect(early.statusCode).toBe(503);
      expect(early.headers['retry-after']).toBe('2');
      expect(errorOf(early)).toContain('no model is loaded yet');
    } finally {
      await loading.app.close();
    }
  });

  it('GET /v2/models/{name}[/versions/{v}] describes the model: NHWC input, outputs, labels in parameters', async () => {
    // [OIP] $metadata_model_response = { "name" : $string, "versions" : [ $string, ... ] #optional,
    //   "platform" : $string, "inputs" : [ $metadata_tensor, ... ], "outputs" : [ $metadata_tensor, ... ] }
    //   $metadata_tensor = { "name" : $string, "datatype" : $string, "shape" : [ $number, ... ] }
    //   "Variable-size dimensions are specified as -1."
    // [OIP] $parameter = $string : $string | $number | $boolean  (so the label list travels as JSON text)
    for (const url of ['/v2/models/tiny', `/v2/models/tiny/versions/${version}`]) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(200);
      const body = response.json();
      expect(body.name).toBe('tiny');
      expect(body.versions).toEqual([version]);
      expect(typeof body.platform).toBe('string');
      expect(body.inputs).toEqual([
        { name: 'input', datatype: 'FP32', shape: [-1, TINY_SIZE, TINY_SIZE, 1] },
      ]);
      expect(body.outputs).toEqual([
        { name: 'probabilities', datatype: 'FP32', shape: [-1, TINY_LABELS.length] },
        { name: 'labels', datatype: 'BYTES', shape: [-1, -1] },
      ]);
      for (const value of Object.values(body.parameters)) {
        expect(['string', 'number', 'boolean']).toContain(typeof value);
      }
      expect(JSON.parse(body.parameters.labels)).toEqual(TINY_LABELS);
      expect(body.parameters.input_datatypes).toBe('FP32,UINT8');
      expect(JSON.parse(body.parameters.normalization_mean)).toEqual(TINY_NORMALIZATION.mean);
    }
  });

  it('GET /v2/models/{name}[/versions/{v}]/ready answers {name, ready}', async () => {
    // [OIP] $ready_model_response = { "name" : $string, "ready": $bool }
    for (const url of ['/v2/models/tiny/ready', `/v2/models/tiny/versions/${version}/ready`]) {
      const response = await get(url);
      expect([response.statusCode, response.json()], url).toEqual([200, { name: 'tiny', ready: true }]);
    }
  });

  it('an unknown model or version is a 404 with {"error": "..."} on every model route', async () => {
    // [KServe] class ModelNotFound: "HTTP Servers should return HTTP_404 (Not Found)", body {"error": str(exc)}.
    // [OIP] $metadata_model_error_response = { "error": $string }; $inference_error_response = { "error": <string> }
    const body = { inputs: [uint8Input([halfPixels('top')])] };
    const cases: Array<[string, Promise<{ statusCode: number; json(): unknown }>, string]> = [
      ['metadata, name', get('/v2/models/mnist'), "unknown model 'mnist'"],
      ['metadata, version', get('/v2/models/tiny/versions/v9'), "has no version 'v9'"],
      ['ready, name', get('/v2/models/mnist/ready'), "unknown model 'mnist'"],
      ['ready, version', get('/v2/models/tiny/versions/v9/ready'), "has no version 'v9'"],
      ['infer, name', infer(body, '/v2/models/mnist/infer'), "unknown model 'mnist'"],
      ['infer, version', infer(body, '/v2/models/tiny/versions/v9/infer'), "has no version 'v9'"],
    ];
    for (const [what, pending, message] of cases) {
      const response = await pending;
      expect(response.statusCode, what).toBe(404);
      expect(errorOf(response), what).toContain(message);
    }
    const route = await get('/v2/repository/index');
    expect(route.statusCode).toBe(404);
    expect(errorOf(route)).toContain('no route GET /v2/repository/index');
  });
});

describe('documentation', () => {
  it('GET /docs/json documents every Open Inference Protocol route from the same zod schemas', async () => {
    const doc = (await get('/docs/json')).json();
    for (const path of [
      '/v2/',
      '/v2/health/live',
      '/v2/health/ready',
      '/v2/models/{name}',
      '/v2/models/{name}/ready',
      '/v2/models/{name}/infer',
      '/v2/models/{name}/versions/{version}',
      '/v2/models/{name}/versions/{version}/ready',
      '/v2/models/{name}/versions/{version}/infer',
      '/monitoring/drift',
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    const infer = doc.paths['/v2/models/{name}/infer'].post;
    expect(infer.requestBody.content['application/json'].schema.$ref).toMatch(
      /^#\/components\/schemas\/OipInferenceRequest/,
    );
    expect(infer.responses['400'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/OipError',
    );
  });
});
