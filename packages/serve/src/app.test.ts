import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createStorage } from '@tfmlops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  animatedPng,
  animatedWebp,
  cmykJpeg,
  colourPng,
  greyAsRgbaPng,
  greyPng,
  png16,
  pngBomb,
  truncated,
} from '../../../tests/support/serve/bad-images.ts';
import { buildTestApp, multipartBody, type TestApp } from '../../../tests/support/serve/test-app.ts';
import {
  halfImage,
  halfPixels,
  publishTinyBundle,
  trainTinyModel,
  useWasmBackend,
} from '../../../tests/support/serve/tiny-bundle.ts';
import type { HttpError } from './errors.ts';
import type { PredictionEvent } from './inference/prediction-service.ts';
import { normalizeInput } from './inference/prepare-input.ts';
import { loadServingModel } from './model/serving-model.ts';
import type { ServingModel } from './model/types.ts';

const TOKEN = 'test-admin-token-0123456789';
const BODY_LIMIT = 200_000;
const MAX_PIXELS = 1_000_000;

let dir: string;
let modelUri: string;
let trained: tfl.LayersModel;
let service: TestApp;
const storage = createStorage();

const png = (name: string, data: Buffer, field = 'file') => ({
  name: field,
  filename: name,
  contentType: 'image/png',
  data,
});

beforeAll(async () => {
  await useWasmBackend();
  dir = mkdtempSync(join(tmpdir(), 'serve-app-'));
  trained = await trainTinyModel();
  const published = await publishTinyBundle(join(dir, 'staging'), join(dir, 'models'), trained, storage);
  modelUri = published.latestUri!;
  service = await buildTestApp(
    { modelUri, adminToken: TOKEN, bodyLimitBytes: BODY_LIMIT, maxPixels: MAX_PIXELS },
    storage,
  );
});

afterAll(async () => {
  await service?.app.close();
  trained?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('POST /predict', () => {
  it('classifies a multipart `file` upload: model name and version, top-k, latency', async () => {
    for (const half of ['top', 'bottom'] as const) {
      const response = await service.app.inject({
        method: 'POST',
        url: '/predict',
        ...multipartBody([png(`${half}.png`, await halfImage(half, { variant: 3 }))]),
      });
      expect(response.statusCode).toBe(200);
      const body = response.json();
      expect(body.model).toEqual({ name: 'tiny', version: expect.stringMatching(/^\d{8}T\d{6}Z-/) });
      expect(body.predictions).toHaveLength(2); // top_k 5, but the model has 2 labels
      expect(body.predictions[0].label).toBe(half);
      expect(body.predictions[0].probability).toBeGreaterThan(0.9);
      expect(body.predictions[0].probability + body.predictions[1].probability).toBeCloseTo(1, 5);
      expect(body.latency_ms).toBeGreaterThan(0);
    }
  });

  it('takes a raw PNG, JPEG or WebP body and honours ?top_k', async () => {
    for (const format of ['png', 'jpeg', 'webp'] as const) {
      const response = await service.app.inject({
        method: 'POST',
        url: '/predict?top_k=1',
        payload: await halfImage('bottom', { format, size: 40 }),
        headers: { 'content-type': `image/${format}` },
      });
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json().predictions).toEqual([{ label: 'bottom', probability: expect.any(Number) }]);
    }
  });

  it('accepts a grayscale image stored as RGBA (what a canvas exports)', async () => {
    const response = await service.app.inject({
      method: 'POST',
      url: '/predict',
      ...multipartBody([png('drawing.png', await greyAsRgbaPng())]),
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().predictions[0].label).toBe('top');
  });

  it('coalesces concurrent requests into micro-batches and answers each correctly', async () => {
    const before = await batchCount();
    const halves = Array.from({ length: 8 }, (_, i) => (i % 3 === 0 ? 'top' : 'bottom') as 'top' | 'bottom');
    const responses = await Promise.all(
      halves.map(async (half, i) =>
        service.app.inject({
          method: 'POST',
          url: '/predict',
          ...multipartBody([png(`${i}.png`, await halfImage(half, { variant: i }))]),
        }),
      ),
    );
    expect(responses.map((r) => r.json().predictions[0].label)).toEqual(halves);
    const batches = (await batchCount()) - before;
    expect(batches).toBeGreaterThan(0);
    expect(batches).toBeLessThan(halves.length);
  });
});

describe('POST /predict/batch', () => {
  it('classifies several files in order and names them', async () => {
    const response = await service.app.inject({
      method: 'POST',
      url: '/predict/batch?top_k=1',
      ...multipartBody([
        png('a.png', await halfImage('top', { variant: 1 })),
        png('b.png', await halfImage('bottom', { variant: 2 })),
        png('c.png', await halfImage('top', { variant: 3 }), 'files'),
      ]),
    });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json();
    expect(body.model.name).toBe('tiny');
    expect(
      body.results.map((r: { filename: string; predictions: Array<{ label: string }> }) => r.filename),
    ).toEqual(['a.png', 'b.png', 'c.png']);
    expect(
      body.results.map((r: { predictions: Array<{ label: string }> }) => r.predictions[0]!.label),
    ).toEqual(['top', 'bottom', 'top']);
  });

  it('refuses the request when one file is bad, naming which', async () => {
    const response = await service.app.inject({
      method: 'POST',
      url: '/predict/batch',
      ...multipartBody([
        png('good.png', await halfImage('top')),
        png('bad.png', Buffer.from('not an image at all')),
      ]),
    });
    expect(response.statusCode).toBe(422);
    expect(response.json().error.code).toBe('IMAGE_UNDECODABLE');
    expect(response.json().error.message).toContain('file 2 of 2 ("bad.png")');
  });
});

describe('bad input gets a 4xx naming what was wrong, and the service keeps serving', () => {
  const raw = (payload: Buffer | string, contentType?: string) => ({
    payload,
    headers: contentType ? { 'content-type': contentType } : {},
  });

  const cases: Array<[string, () => Promise<object>, number, string]> = [
    ['non-image bytes', async () => raw('definitely not a PNG', 'image/png'), 422, 'IMAGE_UNDECODABLE'],
    [
      'a truncated PNG',
      async () => raw(truncated(await halfImage('top', { size: 64 })), 'image/png'),
      422,
      'IMAGE_UNDECODABLE',
    ],
    [
      'a truncated JPEG',
      async () => raw(truncated(await halfImage('top', { size: 64, format: 'jpeg' })), 'image/jpeg'),
      422,
      'IMAGE_UNDECODABLE',
    ],
    ['a text/plain body', async () => raw('hello', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['a JSON body', async () => raw('{"image": "..."}', 'application/json'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [
      'an octet-stream body',
      async () => raw(await greyPng(), 'application/octet-stream'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    ['an image without Content-Type', async () => raw(await greyPng()), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['an empty image/png body', async () => raw(Buffer.alloc(0), 'image/png'), 400, 'EMPTY_BODY'],
    ['no body at all', async () => ({}), 400, 'EMPTY_BODY'],
    [
      'a raw body over BODY_LIMIT_BYTES',
      async () => raw(Buffer.alloc(BODY_LIMIT + 1), 'image/png'),
      413,
      'BODY_TOO_LARGE',
    ],
    [
      'a multipart file over BODY_LIMIT_BYTES',
      async () => multipartBody([png('big.png', Buffer.alloc(BODY_LIMIT + 1))]),
      413,
      'BODY_TOO_LARGE',
    ],
    [
      'a decompression bomb (2000x2000 in a few KB)',
      async () => raw(pngBomb(2000, 2000), 'image/png'),
      413,
      'IMAGE_TOO_LARGE',
    ],
    ['an animated PNG', async () => raw(animatedPng(await greyPng()), 'image/png'), 422, 'IMAGE_MULTI_FRAME'],
    ['an animated WebP', async () => raw(await animatedWebp(), 'image/webp'), 422, 'IMAGE_MULTI_FRAME'],
    ['a 16-bit PNG', async () => raw(await png16(), 'image/png'), 422, 'IMAGE_16_BIT'],
    ['a CMYK JPEG', async () => raw(await cmykJpeg(), 'image/jpeg'), 422, 'IMAGE_CMYK'],
    [
      'a colour image for a grayscale model',
      async () => raw(await colourPng(), 'image/png'),
      422,
      'IMAGE_CHANNELS_MISMATCH',
    ],
    [
      'a form without `file` (the image under another name)',
      async () => multipartBody([png('x.png', await greyPng(), 'image')]),
      400,
      'MULTIPART_NO_FILE',
    ],
    [
      'a form with only text fields',
      async () => multipartBody([{ name: 'note', data: 'hello' }]),
      400,
      'MULTIPART_NO_FILE',
    ],
    [
      'a form with two `file` parts',
      async () => multipartBody([png('a.png', await greyPng()), png('b.png', await greyPng())]),
      400,
      'MULTIPART_TOO_MANY_FILES',
    ],
    [
      'a form cut off mid-part',
      async () => {
        const { payload, headers } = multipartBody([png('a.png', await greyPng())]);
        return { payload: payload.subarray(0, payload.length - 20), headers };
      },
      400,
      'MULTIPART_MALFORMED',
    ],
    [
      'top_k=0',
      async () => ({ ...raw(await greyPng(), 'image/png'), query: { top_k: '0' } }),
      400,
      'INVALID_REQUEST',
    ],
    [
      'top_k=abc',
      async () => ({ ...raw(await greyPng(), 'image/png'), query: { top_k: 'abc' } }),
      400,
      'INVALID_REQUEST',
    ],
  ];

  it.each(cases)('%s', async (_name, request, status, code) => {
    const response = await service.app.inject({ method: 'POST', url: '/predict', ...(await request()) });
    expect(response.statusCode, response.body).toBe(status);
    const body = response.json();
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(10);
    // No stack traces or source paths in answers.
    expect(response.body).not.toMatch(/\.ts:\d+|node_modules|\n\s+at /);
    if (code === 'INVALID_REQUEST') expect(body.error.message).toContain('top_k');
    if (code === 'MULTIPART_NO_FILE' && _name.includes('another name'))
      expect(body.error.message).toContain('image');
  });

  it('after all of them: still ready, still correct, no tensors left behind', async () => {
    const before = tf.memory().numTensors;
    for (const [, request] of cases) {
      await service.app.inject({ method: 'POST', url: '/predict', ...(await request()) });
    }
    expect(tf.memory().numTensors).toBe(before);
    expect((await service.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    const response = await service.app.inject({
      method: 'POST',
      url: '/predict',
      payload: await halfImage('top'),
      headers: { 'content-type': 'image/png' },
    });
    expect(response.json().predictions[0].label).toBe('top');
  });

  it('an unknown route is a 404 in the same error format', async () => {
    const response = await service.app.inject({ method: 'GET', url: '/nope?x=1' });
    expect(response.statusCode).toBe(404);
    expect(response.json().error).toMatchObject({ code: 'NOT_FOUND', message: 'no route GET /nope' });
  });
});

describe('health, model, metrics, docs, page', () => {
  it('GET /healthz and /readyz answer 200 once the model is warm; /model describes it', async () => {
    expect((await service.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await service.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', model: { name: 'tiny' } });
    const info = (await service.app.inject({ method: 'GET', url: '/model' })).json();
    expect(info).toMatchObject({
      name: 'tiny',
      labels: ['top', 'bottom'],
      inputShape: [16, 16, 1],
      backend: 'wasm',
      preprocess: { width: 16, height: 16, channels: 1 },
    });
  });

  it('before the model is loaded: /healthz 200, /readyz 503 loading, /predict 503 with Retry-After', async () => {
    const loading = await buildTestApp({ modelUri }, storage, { start: false });
    try {
      expect((await loading.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      const ready = await loading.app.inject({ method: 'GET', url: '/readyz' });
      expect([ready.statusCode, ready.json().status]).toEqual([503, 'loading']);
      const predict = await loading.app.inject({
        method: 'POST',
        url: '/predict',
        payload: await greyPng(),
        headers: { 'content-type': 'image/png' },
      });
      expect(predict.statusCode).toBe(503);
      expect(predict.headers['retry-after']).toBe('2');
      expect(predict.json().error.code).toBe('MODEL_NOT_READY');
    } finally {
      await loading.app.close();
    }
  });

  it('GET /metrics exposes everything the service promises', async () => {
    const response = await service.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    const text = response.body;
    for (const line of [
      /http_requests_total\{method="POST",route="\/predict",status="200"\} \d+/,
      /http_requests_total\{method="POST",route="\/predict",status="422"\} \d+/,
      /http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/predict",status="200"\}/,
      /model_load_seconds \d/,
      /inference_batch_size_bucket\{le="1"\}/,
      /inference_batch_duration_seconds_count \d+/,
      /inference_queue_depth 0/,
      /tfjs_tensors \d+/,
      /tfjs_memory_bytes\{kind="tensors"\} \d+/,
      /tfjs_memory_bytes\{kind="wasm_heap"\} \d+/,
      /process_resident_memory_bytes \d+/,
      /nodejs_eventloop_lag_seconds/,
      /predictions_total\{label="top"\} \d+/,
      /predictions_total\{label="bottom"\} \d+/,
      /prediction_confidence_bucket\{le="0.9"\}/,
      /prediction_rejected_total\{code="IMAGE_UNDECODABLE"\} \d+/,
      /model_reload_failures_total/,
      /model_info\{name="tiny",version="\d{8}T\d{6}Z-[0-9a-f]{8}",backend="wasm",sha256="[0-9a-f]{64}"\} 1/,
    ]) {
      expect(text).toMatch(line);
    }
  });

  it('GET /docs serves Swagger UI, and /docs/json the OpenAPI document from the zod schemas', async () => {
    const ui = await service.app.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger');
    const doc = (await service.app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    const predict = doc.paths['/predict'].post;
    expect(Object.keys(predict.requestBody.content)).toEqual([
      'multipart/form-data',
      'image/png',
      'image/jpeg',
      'image/webp',
    ]);
    expect(predict.parameters).toEqual([
      expect.objectContaining({
        name: 'top_k',
        in: 'query',
        schema: expect.objectContaining({ minimum: 1 }),
      }),
    ]);
    expect(predict.responses['200'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/PredictResponse',
    );
    expect(predict.responses['422'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/Error',
    );
    for (const path of ['/predict/batch', '/healthz', '/readyz', '/metrics', '/model', '/admin/reload']) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(Object.keys(doc.components.schemas).filter((name) => name.endsWith('Input'))).toEqual([]);
  });

  it('GET / serves the page with its script and style under a strict CSP, and security headers everywhere', async () => {
    const page = await service.app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('<canvas id="canvas"');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    for (const asset of ['/static/app.js', '/static/app.css']) {
      expect((await service.app.inject({ method: 'GET', url: asset })).statusCode).toBe(200);
    }
    const predict = await service.app.inject({ method: 'POST', url: '/predict' });
    expect(predict.headers['x-content-type-options']).toBe('nosniff');
    expect(predict.headers['x-frame-options']).toBe('SAMEORIGIN');
  });
});

describe('the shared prediction path (for other APIs)', () => {
  it('classifyInputs takes normalised tensors through the same batcher; observers see every answer', async () => {
    const { predictions } = service.app.serving;
    const model = service.app.serving.models.current!;
    const events: PredictionEvent[] = [];
    const stop = predictions.observe((event) => events.push(event));
    const failing = predictions.observe(() => {
      throw new Error('observer bug');
    });
    try {
      const input = normalizeInput(halfPixels('bottom', 16, 9), model);
      const result = await predictions.classifyInputs(
        [input, normalizeInput(halfPixels('top', 16, 9), model)],
        1,
      );
      expect(result.predictions.map((p) => p.top[0]!.label)).toEqual(['bottom', 'top']);
      await service.app.inject({
        method: 'POST',
        url: '/predict',
        payload: await halfImage('top'),
        headers: { 'content-type': 'image/png' },
      });
      expect(events).toHaveLength(2);
      expect(events[0]!.predictions).toHaveLength(2);
      expect(events[1]!.predictions[0]!.image!.pixels).toHaveLength(16 * 16);
      expect(events[1]!.model.version).toBe(model.version);
      const wrong = await predictions.classifyInputs([new Float32Array(5)], 1).catch((e: unknown) => e);
      expect((wrong as HttpError).code).toBe('INPUT_SHAPE_MISMATCH');
      expect(service.logs().some((line) => line.message === 'a prediction observer failed')).toBe(true);
    } finally {
      stop();
      failing();
    }
  });
});

describe('request ids and logs', () => {
  it('echoes a caller X-Request-Id and puts the request id on every log line of the request', async () => {
    const response = await service.app.inject({
      method: 'POST',
      url: '/predict',
      payload: Buffer.from('garbage'),
      headers: { 'content-type': 'image/png', 'x-request-id': 'caller-id-42' },
    });
    expect(response.headers['x-request-id']).toBe('caller-id-42');
    const lines = service.logs().filter((line) => line.requestId === 'caller-id-42');
    expect(lines.map((line) => line.message)).toEqual(['request refused', 'request completed']);
    expect(lines[0]).toMatchObject({ severity: 'INFO', code: 'IMAGE_UNDECODABLE' });
    expect(lines[1]).toMatchObject({ httpRequest: { status: 422, requestMethod: 'POST' } });
    // Every line logged while handling requests carries an id.
    const requestLines = service
      .logs()
      .filter((line) => 'httpRequest' in line || line.message === 'request refused');
    expect(requestLines.length).toBeGreaterThan(10);
    expect(requestLines.every((line) => typeof line.requestId === 'string')).toBe(true);
    // Cloud Run's trace id is the fallback.
    const traced = await service.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-cloud-trace-context': '105445aa7843bc8bf206b12000100000/1;o=1' },
    });
    expect(traced.headers['x-request-id']).toBe('105445aa7843bc8bf206b12000100000');
  });
});

describe('protection', () => {
  /** A loader whose network waits for `gate` (to hold requests in flight) or fails with a secret message. */
  function gatedLoader(state: { gate?: Promise<void>; fail?: boolean }) {
    return async (uri: string, options: Parameters<typeof loadServingModel>[1]): Promise<ServingModel> => {
      const model = await loadServingModel(uri, options);
      const predict = model.predictBatch.bind(model);
      model.predictBatch = async (inputs) => {
        await state.gate;
        if (state.fail) throw new Error('secret internal detail');
        return predict(inputs);
      };
      return model;
    };
  }

  it('answers 503 with Retry-After when the queue is full, and serves again once it drains', async () => {
    let open: () => void = () => {};
    const state: { gate?: Promise<void> } = {};
    const limited = await buildTestApp({ modelUri, maxQueue: 1 }, storage, { load: gatedLoader(state) });
    try {
      state.gate = new Promise((resolve) => {
        open = resolve;
      });
      const request = async () =>
        limited.app.inject({
          method: 'POST',
          url: '/predict',
          payload: await halfImage('top'),
          headers: { 'content-type': 'image/png' },
        });
      const first = request();
      await waitFor(async () => (await queueDepth(limited)) === 1);
      const second = await request();
      expect(second.statusCode).toBe(503);
      expect(second.headers['retry-after']).toBe('1');
      expect(second.json().error.code).toBe('OVERLOADED');
      open();
      expect((await first).statusCode).toBe(200);
      expect((await request()).statusCode).toBe(200);
    } finally {
      open();
      await limited.app.close();
    }
  });

  it('a prediction past REQUEST_TIMEOUT_MS gets 503 PREDICTION_TIMEOUT; an unexpected error a bare 500', async () => {
    let open: () => void = () => {};
    const state: { gate?: Promise<void>; fail?: boolean } = {};
    const slow = await buildTestApp({ modelUri, requestTimeoutMs: 100 }, storage, {
      load: gatedLoader(state),
    });
    try {
      state.gate = new Promise((resolve) => {
        open = resolve;
      });
      const image = { payload: await halfImage('top'), headers: { 'content-type': 'image/png' } };
      const late = await slow.app.inject({ method: 'POST', url: '/predict', ...image });
      expect(late.statusCode).toBe(503);
      expect(late.json().error.code).toBe('PREDICTION_TIMEOUT');
      open();
      state.fail = true;
      const broken = await slow.app.inject({ method: 'POST', url: '/predict', ...image });
      expect(broken.statusCode).toBe(500);
      expect(broken.json().error.code).toBe('INTERNAL');
      expect(broken.body).not.toContain('secret');
      expect(broken.json().error.message).toContain(broken.headers['x-request-id']);
      const logged = slow
        .logs()
        .find((line) => line.requestId === broken.headers['x-request-id'] && line.err);
      expect(JSON.stringify(logged)).toContain('secret internal detail');
      state.fail = false;
      expect((await slow.app.inject({ method: 'POST', url: '/predict', ...image })).statusCode).toBe(200);
    } finally {
      open();
      await slow.app.close();
    }
  });
});

async function metricValue(app: TestApp, pattern: RegExp): Promise<number> {
  const text = (await app.app.inject({ method: 'GET', url: '/metrics' })).body;
  return Number(pattern.exec(text)?.[1] ?? Number.NaN);
}

const batchCount = () => metricValue(service, /^inference_batch_size_count (\d+)$/m);
const queueDepth = (app: TestApp) => metricValue(app, /^inference_queue_depth (\d+)$/m);

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
