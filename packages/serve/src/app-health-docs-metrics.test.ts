/** What the service says about itself: health and readiness, /model, /metrics, the API docs and the page. */
import type { Storage } from '@tfmlops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greyPng } from '../../../tests/support/serve/bad-images.ts';
import { buildTestApp, type TestApp } from '../../../tests/support/serve/test-app.ts';
import { halfImage } from '../../../tests/support/serve/tiny-bundle.ts';
import { startAppService } from './app.test-support.ts';
import type { TinyService } from './tiny-service.test-support.ts';

let service: TestApp;
let modelUri: string;
let storage: Storage;
let tiny: TinyService;

beforeAll(async () => {
  tiny = await startAppService();
  ({ service, modelUri, storage } = tiny);
  // A labelled series shows in /metrics only once it has counted something: one prediction of each label and
  // one undecodable image give the metrics test every series it looks for.
  for (const payload of [await halfImage('top'), await halfImage('bottom'), Buffer.from('not an image')]) {
    await service.app.inject({
      method: 'POST',
      url: '/predict',
      payload,
      headers: { 'content-type': 'image/png' },
    });
  }
});

afterAll(async () => {
  await tiny?.close();
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
    // The zod provider registers each named schema twice (input and output variants): only copies in use remain
    // (request bodies use input variants, e.g. the Open Inference Protocol's).
    const text = JSON.stringify(doc.paths);
    const unused = Object.keys(doc.components.schemas).filter(
      (name) =>
        name.endsWith('Input') &&
        !text.includes(`#/components/schemas/${name}"`) &&
        !JSON.stringify(doc.components.schemas).includes(`#/components/schemas/${name}"`),
    );
    expect(unused).toEqual([]);
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
