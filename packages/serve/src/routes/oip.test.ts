/**
 * Contract tests of the Open Inference Protocol v2 REST API, written from the published specification, not from this
 * implementation's output. Sources quoted below:
 * - [OIP] github.com/kserve/open-inference-protocol, specification/protocol/inference_rest.md (and its OpenAPI
 *   document open_inference_rest.yaml);
 * - [V2] github.com/kserve/kserve, docs/predict-api/v2/required_api.md (the "Predict Protocol - Version 2" it grew from);
 * - [KServe] kserve/kserve python/kserve/kserve/errors.py: how KServe's own server maps errors to HTTP statuses;
 * - [Triton] triton-inference-server/server docs/protocol/extension_classification.md.
 * The model is the tiny two-class bundle of the service tests (16x16x1 images, labels ["top", "bottom"]).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createStorage } from '@tfmlops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../../tests/support/serve/test-app.ts';
import {
  halfImage,
  halfPixels,
  publishTinyBundle,
  TINY_LABELS,
  TINY_NORMALIZATION,
  TINY_SIZE,
  trainTinyModel,
  useWasmBackend,
} from '../../../../tests/support/serve/tiny-bundle.ts';

const BODY_LIMIT = 300_000;
const MAX_QUEUE = 64;
const IMAGE = TINY_SIZE * TINY_SIZE;

let dir: string;
let modelUri: string;
let trained: tfl.LayersModel;
let service: TestApp;
let version: string;
const storage = createStorage();

const get = (url: string, app = service) => app.app.inject({ method: 'GET', url });
const infer = (payload: unknown, url = '/v2/models/tiny/infer', app = service) =>
  app.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json' },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });

/** `$request_input` for a batch of our test images, as raw pixels. */
function uint8Input(images: Uint8Array[], shape?: number[]) {
  return {
    name: 'input',
    shape: shape ?? [images.length, TINY_SIZE, TINY_SIZE, 1],
    datatype: 'UINT8',
    data: images.flatMap((image) => Array.from(image)),
  };
}

/** The same images normalised as the bundle says, for FP32 requests. */
function fp32Data(image: Uint8Array): number[] {
  const [mean] = TINY_NORMALIZATION.mean as [number];
  const [std] = TINY_NORMALIZATION.std as [number];
  return Array.from(image, (v) => Math.fround((v / 255 - mean) / std));
}

/** The body of an error answer: exactly `{"error": <string>}`. */
function errorOf(response: { statusCode: number; json(): unknown }): string {
  const body = response.json() as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error).toBe('string');
  return body.error as string;
}

beforeAll(async () => {
  await useWasmBackend();
  dir = mkdtempSync(join(tmpdir(), 'serve-oip-'));
  trained = await trainTinyModel();
  const published = await publishTinyBundle(join(dir, 'staging'), join(dir, 'models'), trained, storage);
  modelUri = published.latestUri!;
  version = published.manifest.version;
  service = await buildTestApp({ modelUri, bodyLimitBytes: BODY_LIMIT, maxQueue: MAX_QUEUE }, storage);
});

afterAll(async () => {
  await service?.app.close();
  trained?.dispose();
  rmSync(dir, { recursive: true, force: true });
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

describe('POST /v2/models/{name}[/versions/{v}]/infer', () => {
  it('UINT8 raw pixels, any batch size, nested or flat data: probabilities [batch, classes] and top-1 labels; id echoed', async () => {
    // [OIP] $inference_request = { "id" : $string #optional, "parameters" : $parameters #optional,
    //   "inputs" : [ $request_input, ... ], "outputs" : [ $request_output, ... ] #optional }
    // [OIP] "If the input is batched, the shape and data must represent the full shape and contents of the entire
    //   batch." "Tensor elements may be presented in their nature multi-dimensional representation, or as a
    //   flattened one-dimensional representation."
    // [OIP] $inference_response = { "model_name" : $string, "model_version" : $string #optional, "id" : $string,
    //   "parameters" : $parameters #optional, "outputs" : [ $response_output, ... ] }
    //   "id" : The "id" identifier given in the request, if any.
    // [OIP] "outputs": "Optional, if not specified all outputs produced by the model will be returned".
    const images = [
      halfPixels('top', TINY_SIZE, 1),
      halfPixels('bottom', TINY_SIZE, 2),
      halfPixels('top', TINY_SIZE, 3),
    ];
    const flat = uint8Input(images);
    const nested = {
      ...flat,
      data: images.map((image) =>
        Array.from({ length: TINY_SIZE }, (_, y) =>
          Array.from({ length: TINY_SIZE }, (_, x) => [image[y * TINY_SIZE + x]]),
        ),
      ),
    };
    const answers = [];
    for (const [input, url] of [
      [flat, '/v2/models/tiny/infer'],
      [nested, `/v2/models/tiny/versions/${version}/infer`],
    ] as const) {
      const response = await infer({ id: 'req-42', inputs: [input] }, url);
      expect(response.statusCode, response.body).toBe(200);
      const body = response.json();
      expect(body.model_name).toBe('tiny');
      expect(body.model_version).toBe(version);
      expect(body.id).toBe('req-42');
      expect(body.outputs.map((o: { name: string }) => o.name)).toEqual(['probabilities', 'labels']);
      const [probabilities, labels] = body.outputs;
      expect(probabilities).toMatchObject({ datatype: 'FP32', shape: [3, 2] });
      expect(probabilities.data).toHaveLength(6);
      for (let b = 0; b < 3; b += 1) {
        expect(probabilities.data[b * 2] + probabilities.data[b * 2 + 1]).toBeCloseTo(1, 5);
      }
      expect(labels).toEqual({
        name: 'labels',
        datatype: 'BYTES',
        shape: [3, 1],
        data: ['top', 'bottom', 'top'],
      });
      answers.push(probabilities.data);
    }
    expect(answers[1]).toEqual(answers[0]);
  });

  it('UINT8 and FP32 give the probabilities POST /predict gives for the same image, in label order', async () => {
    const png = await halfImage('bottom', { variant: 5 });
    const predict = await service.app.inject({
      method: 'POST',
      url: '/predict?top_k=2',
      payload: png,
      headers: { 'content-type': 'image/png' },
    });
    const byLabel = Object.fromEntries(
      predict.json().predictions.map((p: { label: string; probability: number }) => [p.label, p.probability]),
    );
    const pixels = halfPixels('bottom', TINY_SIZE, 5);
    const asUint8 = await infer({ inputs: [uint8Input([pixels])], outputs: [{ name: 'probabilities' }] });
    const asFp32 = await infer({
      inputs: [
        { name: 'input', shape: [1, TINY_SIZE, TINY_SIZE, 1], datatype: 'FP32', data: fp32Data(pixels) },
      ],
      outputs: [{ name: 'probabilities' }],
    });
    for (const response of [asUint8, asFp32]) {
      expect(response.statusCode, response.body).toBe(200);
      const [output] = response.json().outputs;
      // Label order is the order of the labels listed in the model metadata's parameters.
      TINY_LABELS.forEach((label, k) => {
        expect(output.data[k]).toBeCloseTo(byLabel[label], 6);
      });
    }
  });

  it('output selection: labels only with top_k, and the classification extension on probabilities', async () => {
    // [OIP] $request_output = { "name" : $string, "parameters" : $parameters #optional }
    // [Triton] "the returned tensor will not be the shape and type produced by the model, but will instead be type
    //   BYTES with shape [ batch-size, <count> ]" ... format “<value>:<index>[:<label>]”.
    const images = [halfPixels('top', TINY_SIZE, 7), halfPixels('bottom', TINY_SIZE, 8)];
    const labelsOnly = await infer({
      inputs: [uint8Input(images)],
      outputs: [{ name: 'labels', parameters: { top_k: 2 } }],
    });
    expect(labelsOnly.statusCode).toBe(200);
    expect(labelsOnly.json().outputs).toEqual([
      { name: 'labels', datatype: 'BYTES', shape: [2, 2], data: ['top', 'bottom', 'bottom', 'top'] },
    ]);
    // No id in the request, none in the answer.
    expect(labelsOnly.json().id).toBeUndefined();

    const classified = await infer({
      inputs: [uint8Input(images)],
      outputs: [{ name: 'probabilities', parameters: { classification: 1 } }, { name: 'labels' }],
    });
    expect(classified.statusCode).toBe(200);
    const [classes, labels] = classified.json().outputs;
    expect(classes).toMatchObject({ name: 'probabilities', datatype: 'BYTES', shape: [2, 1] });
    const [first, second] = classes.data as string[];
    expect(first).toMatch(/^0\.9\d*:0:top$|^1:0:top$/);
    expect(second).toMatch(/^0\.9\d*:1:bottom$|^1:1:bottom$/);
    expect(labels.data).toEqual(['top', 'bottom']);

    // The request-level top_k parameter is the default for labels.
    const requestLevel = await infer({
      parameters: { top_k: 2 },
      inputs: [uint8Input(images.slice(0, 1))],
      outputs: [{ name: 'labels' }],
    });
    expect(requestLevel.json().outputs[0].shape).toEqual([1, 2]);
  });

  it('one request of many images runs through the shared micro-batcher, in batches of at most MAX_BATCH', async () => {
    const metric = async (name: string) =>
      Number(new RegExp(`^${name} (\\d+)$`, 'm').exec((await get('/metrics')).body)?.[1]);
    const [count, sum] = [
      await metric('inference_batch_size_count'),
      await metric('inference_batch_size_sum'),
    ];
    const images = Array.from({ length: 40 }, (_, i) => halfPixels(i % 2 ? 'bottom' : 'top', TINY_SIZE, i));
    const response = await infer({ inputs: [uint8Input(images)], outputs: [{ name: 'labels' }] });
    expect(response.statusCode).toBe(200);
    expect(response.json().outputs[0].data).toEqual(images.map((_, i) => (i % 2 ? 'bottom' : 'top')));
    // 40 images with MAX_BATCH 32: two network runs, 40 images in all.
    expect((await metric('inference_batch_size_count')) - count).toBe(2);
    expect((await metric('inference_batch_size_sum')) - sum).toBe(40);
    expect(await get('/metrics').then((r) => r.body)).toMatch(
      /http_requests_total\{method="POST",route="\/v2\/models\/:name\/infer",status="200"\} \d+/,
    );
  });
});

describe('malformed requests get a 4xx with the reason, never a 5xx', () => {
  const one = halfPixels('top');
  const input = (overrides: Record<string, unknown>) => ({ ...uint8Input([one]), ...overrides });
  const cases: Array<[string, unknown, number, RegExp]> = [
    // [KServe] class InvalidInput: "HTTP Servers should return HTTP_400 (Bad Request)".
    // [OIP] "A failed inference request must be indicated by an HTTP error status (typically 400)."
    [
      'an unsupported datatype',
      { inputs: [input({ datatype: 'INT64' })] },
      400,
      /INT64 is not accepted: send FP32 .* or UINT8/,
    ],
    [
      'a datatype the protocol does not have',
      { inputs: [input({ datatype: 'FLOAT' })] },
      400,
      /'FLOAT' is not a datatype of the protocol/,
    ],
    ['BYTES data for an image', { inputs: [input({ datatype: 'BYTES' })] }, 400, /BYTES is not accepted/],
    [
      'a shape that does not match the data length',
      { inputs: [input({ shape: [2, TINY_SIZE, TINY_SIZE, 1] })] },
      400,
      /data has 256 values; shape \[2, 16, 16, 1\] needs 512/,
    ],
    [
      'data longer than the shape',
      { inputs: [input({ data: [...Array.from(one), 1] })] },
      400,
      /data has 257 values; shape \[1, 16, 16, 1\] needs 256/,
    ],
    [
      'an image of the wrong size',
      { inputs: [input({ shape: [1, 8, 32, 1] })] },
      400,
      /each image must be 16x16x1/,
    ],
    [
      'a shape without the batch dimension',
      { inputs: [input({ shape: [TINY_SIZE, TINY_SIZE, 1] })] },
      400,
      /has 3 dimensions; the input is \[batch, 16, 16, 1\] \(NHWC\)/,
    ],
    [
      'a batch of zero images',
      { inputs: [input({ shape: [0, TINY_SIZE, TINY_SIZE, 1], data: [] })] },
      400,
      /holds no image/,
    ],
    ['a negative dimension', { inputs: [input({ shape: [-1, TINY_SIZE, TINY_SIZE, 1] })] }, 400, /shape/],
    [
      'an oversized tensor',
      { inputs: [input({ shape: [1_000_000, TINY_SIZE, TINY_SIZE, 1] })] },
      400,
      /asks for 1000000 images; one request may carry at most 64/,
    ],
    [
      'a UINT8 value above 255',
      { inputs: [input({ data: [300, ...Array.from(one).slice(1)] })] },
      400,
      /data\[0\] is 300: UINT8 elements are whole numbers from 0 to 255/,
    ],
    [
      'a fractional UINT8 value',
      { inputs: [input({ data: [...Array.from(one).slice(0, 9), 1.5, ...Array.from(one).slice(10)] })] },
      400,
      /data\[9\] is 1.5/,
    ],
    [
      'a string element',
      { inputs: [input({ data: ['12', ...Array.from(one).slice(1)] })] },
      400,
      /data\[0\] is "12"/,
    ],
    [
      'an FP32 value beyond the float32 range',
      { inputs: [input({ datatype: 'FP32', data: [3.5e38, ...fp32Data(one).slice(1)] })] },
      400,
      /data\[0\] is 3.5e\+38: FP32 elements must be finite/,
    ],
    [
      'a null element (what JSON makes of NaN)',
      { inputs: [input({ datatype: 'FP32', data: [null, ...fp32Data(one).slice(1)] })] },
      400,
      /data\[0\] is null/,
    ],
    [
      'an unknown input name',
      { inputs: [input({ name: 'image' })] },
      400,
      /unknown input 'image'; model tiny takes one input, 'input'/,
    ],
    ['two inputs', { inputs: [input({}), input({})] }, 400, /has 2 inputs; model tiny takes exactly one/],
    ['no inputs', { inputs: [] }, 400, /has 0 inputs/],
    ['no inputs field', { id: 'x' }, 400, /inputs/],
    ['data that is not an array', { inputs: [input({ data: 'AAAA' })] }, 400, /data/],
    [
      'an unknown output',
      { inputs: [input({})], outputs: [{ name: 'logits' }] },
      400,
      /unknown output 'logits'; this model's outputs are probabilities and labels/,
    ],
    [
      'an output asked twice',
      { inputs: [input({})], outputs: [{ name: 'labels' }, { name: 'labels' }] },
      400,
      /requested twice/,
    ],
    [
      'top_k beyond the classes',
      { inputs: [input({})], outputs: [{ name: 'labels', parameters: { top_k: 3 } }] },
      400,
      /top_k is 3; it must be a whole number from 1 to 2/,
    ],
    [
      'a classification count of zero',
      { inputs: [input({})], outputs: [{ name: 'probabilities', parameters: { classification: 0 } }] },
      400,
      /classification is 0/,
    ],
    [
      'a parameter that is an object',
      { parameters: { top_k: { k: 1 } }, inputs: [input({})] },
      400,
      /parameters/,
    ],
  ];

  it.each(cases)('%s', async (_, payload, status, message) => {
    const response = await infer(payload);
    expect(response.statusCode, response.body).toBe(status);
    expect(errorOf(response)).toMatch(message);
  });

  it('non-finite numbers in the JSON text (1e999 is Infinity), broken JSON, no body, a non-JSON body, a body over the limit', async () => {
    const nonFinite = await infer(
      `{"inputs":[{"name":"input","shape":[1,16,16,1],"datatype":"FP32","data":[1e999${',0'.repeat(IMAGE - 1)}]}]}`,
    );
    expect(nonFinite.statusCode).toBe(400);
    expect(errorOf(nonFinite)).toContain('data[0] is Infinity: FP32 elements must be finite');
    const broken = await infer('{"inputs": [');
    expect(broken.statusCode).toBe(400);
    errorOf(broken);
    const empty = await service.app.inject({
      method: 'POST',
      url: '/v2/models/tiny/infer',
      headers: { 'content-type': 'application/json' },
    });
    expect(empty.statusCode).toBe(400);
    errorOf(empty);
    const png = await service.app.inject({
      method: 'POST',
      url: '/v2/models/tiny/infer',
      headers: { 'content-type': 'image/png' },
      payload: await halfImage('top'),
    });
    expect(png.statusCode).toBe(415);
    expect(errorOf(png)).toContain('send the inference request as JSON');
    const huge = await infer(JSON.stringify({ inputs: [input({ data: new Array(BODY_LIMIT).fill(0) })] }));
    expect(huge.statusCode).toBe(413);
    expect(errorOf(huge)).toContain(`limit of ${BODY_LIMIT} bytes`);
  });

  it('after all of them: still ready, still right, no tensors left behind, every refusal counted', async () => {
    const tensors = tf.memory().numTensors;
    for (const [, payload] of cases) await infer(payload);
    expect(tf.memory().numTensors).toBe(tensors);
    expect((await get('/v2/health/ready')).statusCode).toBe(200);
    const ok = await infer({
      inputs: [uint8Input([halfPixels('bottom', TINY_SIZE, 4)])],
      outputs: [{ name: 'labels' }],
    });
    expect(ok.json().outputs[0].data).toEqual(['bottom']);
    const metrics = (await get('/metrics')).body;
    expect(metrics).toMatch(/prediction_rejected_total\{code="OIP_BAD_ELEMENT"\} \d+/);
    expect(metrics).not.toMatch(/route="\/v2[^"]*",status="5\d\d"/);
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
