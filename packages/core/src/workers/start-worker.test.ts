import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { startModuleWorker } from './start-worker.ts';

describe('startModuleWorker', () => {
  it('runs a TypeScript module in a worker thread and talks to it', async () => {
    const worker = startModuleWorker(new URL('./fixtures/echo-worker.ts', import.meta.url));
    try {
      const reply = once(worker, 'message');
      worker.postMessage({ value: 21 });
      const [message] = await reply;
      expect(message).toEqual({ doubled: 42, typed: true });
    } finally {
      await worker.terminate();
    }
  });
});
