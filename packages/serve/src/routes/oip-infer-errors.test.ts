/**
 * Contract tests of the Open Inference Protocol v2 REST API: malformed inference requests, each refused with
 * a 4xx and its reason. Written from the published specification, not from this implementation's output; the
 * sources quoted as [OIP], [V2], [KServe] and [Triton] are listed in oip.test-support.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../../../../tests/support/serve/test-app.ts';
import { halfImage, halfPixels, TINY_SIZE } from '../../../../tests/support/serve/tiny-bundle.ts';
import type { TinyService } from '../tiny-service.test-support.ts';
import {
  BODY_LIMIT,
  errorOf,
  fp32Data,
  IMAGE,
  oipRequests,
  startOipService,
  uint8Input,
} from './oip.test-support.ts';

let service: TestApp;
let tiny: TinyService;
const { get, infer } = oipRequests(() => service);

beforeAll(async () => {
  tiny = await startOipService();
  ({ service } = tiny);
});

afterAll(async () => {
  await tiny?.close();
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
