/**
 * Contract tests of the Open Inference Protocol v2 REST API: inference, POST
 * /v2/models/{name}[/versions/{v}]/infer. Written from the published specification, not from this
 * implementation's output; the sources quoted as [OIP], [V2], [KServe] and [Triton] are listed in
 * oip.test-support.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../../../../tests/support/serve/test-app.ts';
import {
  halfImage,
  halfPixels,
  TINY_LABELS,
  TINY_SIZE,
} from '../../../../tests/support/serve/tiny-bundle.ts';
import type { TinyService } from '../tiny-service.test-support.ts';
import { fp32Data, oipRequests, startOipService, uint8Input } from './oip.test-support.ts';

let service: TestApp;
let version: string;
let tiny: TinyService;
const { get, infer } = oipRequests(() => service);

beforeAll(async () => {
  tiny = await startOipService();
  ({ service, version } = tiny);
});

afterAll(async () => {
  await tiny?.close();
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
