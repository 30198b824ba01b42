/** The prediction endpoints: POST /predict, POST /predict/batch, and the prediction path other APIs share. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greyAsRgbaPng } from '../../../tests/support/serve/bad-images.ts';
import { multipartBody, type TestApp } from '../../../tests/support/serve/test-app.ts';
import { halfImage, halfPixels } from '../../../tests/support/serve/tiny-bundle.ts';
import { metricValue, png, startAppService } from './app.test-support.ts';
import type { HttpError } from './errors.ts';
import type { PredictionEvent } from './inference/prediction-service.ts';
import { normalizeInput } from './inference/prepare-input.ts';
import type { TinyService } from './tiny-service.test-support.ts';

let service: TestApp;
let tiny: TinyService;

beforeAll(async () => {
  tiny = await startAppService();
  service = tiny.service;
});

afterAll(async () => {
  await tiny?.close();
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

const batchCount = () => metricValue(service, /^inference_batch_size_count (\d+)$/m);
