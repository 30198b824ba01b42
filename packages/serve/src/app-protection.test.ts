/** Protection: a full queue, a prediction past its timeout and an unexpected error, each on its own service. */
import type { Storage } from '@tfmlops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../tests/support/serve/test-app.ts';
import { halfImage } from '../../../tests/support/serve/tiny-bundle.ts';
import { metricValue } from './app.test-support.ts';
import { loadServingModel } from './model/serving-model.ts';
import type { ServingModel } from './model/types.ts';
import { type PublishedTiny, publishTiny } from './tiny-service.test-support.ts';

let modelUri: string;
let storage: Storage;
let tiny: PublishedTiny;

// Each test starts its own service with its own limits: this file needs the published bundle, not a shared service.
beforeAll(async () => {
  tiny = await publishTiny('serve-app-');
  ({ modelUri, storage } = tiny);
});

afterAll(async () => {
  await tiny?.close();
});

describe('protection', () => {
  /** A loader whose network waits for `gate` (to hold requests in flight) or fails with a secret message. */
  function gatedLoader(state: { gate?: Promise<void>; fail?: boolean }) {
    return async (uri: string, options: Parameters<typeof loadServingModel>[1]): Promise<ServingModel> => {
      const model = await loadServingModel(uri, options);
      const predict = model.predictBatch.bind(model);
      model.predictBatch = async (inputs, predictOptions) => {
        await state.gate;
        if (state.fail) throw new Error('secret internal detail');
        return predict(inputs, predictOptions);
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

const queueDepth = (app: TestApp) => metricValue(app, /^inference_queue_depth (\d+)$/m);

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
