/**
 * Bad input: every kind of refusal gets its 4xx and error code, the service keeps serving after them all, and a
 * refused request's log lines carry its request id.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  animatedPng,
  animatedWebp,
  cmykJpeg,
  colourPng,
  greyPng,
  png16,
  pngBomb,
  truncated,
} from '../../../tests/support/serve/bad-images.ts';
import { multipartBody, type TestApp } from '../../../tests/support/serve/test-app.ts';
import { halfImage } from '../../../tests/support/serve/tiny-bundle.ts';
import { BODY_LIMIT, png, startAppService } from './app.test-support.ts';
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
