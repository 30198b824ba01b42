import { afterEach, describe, expect, it, vi } from 'vitest';
import { MicroBatcher } from './micro-batcher.ts';

/** A runner that records each batch and answers input * 10, optionally after a gate opens. */
function recordingRunner() {
  const batches: Array<{ key: string; inputs: number[] }> = [];
  let gate: Promise<void> = Promise.resolve();
  return {
    batches,
    hold() {
      let open: () => void = () => {};
      gate = new Promise((resolve) => {
        open = resolve;
      });
      return () => open();
    },
    run: async (key: string, inputs: number[]) => {
      batches.push({ key, inputs: [...inputs] });
      await gate;
      return inputs.map((x) => x * 10);
    },
  };
}

/** A CancelToken the test cancels by hand. */
function cancelToken() {
  const listeners = new Set<() => void>();
  const token = {
    cancelled: false,
    reason: undefined as unknown,
    subscribe(onCancel: () => void) {
      listeners.add(onCancel);
      return () => listeners.delete(onCancel);
    },
    cancel(reason: unknown) {
      token.cancelled = true;
      token.reason = reason;
      for (const listener of listeners) listener();
    },
  };
  return token;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('MicroBatcher', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs a lone request on an idle batcher at the end of the event-loop turn, not after the delay', async () => {
    const runner = recordingRunner();
    const batcher = new MicroBatcher(runner.run, { maxBatch: 8, maxDelayMs: 60_000 });
    const answer = batcher.submit('m', 1);
    expect(runner.batches).toEqual([]);
    await nextTurn();
    expect(runner.batches).toEqual([{ key: 'm', inputs: [1] }]);
    await expect(answer).resolves.toBe(10);
  });

  it('puts everything submitted in one event-loop turn into one batch', async () => {
    const runner = recordingRunner();
    const batcher = new MicroBatcher(runner.run, { maxBatch: 8, maxDelayMs: 60_000 });
    const answers = [1, 2, 3].map((x) => batcher.submit('m', x));
    await expect(Promise.all(answers)).resolves.toEqual([10, 20, 30]);
    expect(runner.batches).toEqual([{ key: 'm', inputs: [1, 2, 3] }]);
  });

  it('runs a full batch at once', () => {
    const runner = recordingRunner();
    const batcher = new MicroBatcher(runner.run, { maxBatch: 2, maxDelayMs: 60_000 });
    batcher.submit('m', 1);
    batcher.submit('m', 2);
    expect(runner.batches).toEqual([{ key: 'm', inputs: [1, 2] }]);
  });

  it('coalesces announced requests into one batch and reports its size', async () => {
    const sizes: number[] = [];
    const runner = recordingRunner();
    const batcher = new MicroBatcher(runner.run, {
      maxBatch: 8,
      maxDelayMs: 60_000,
      onBatch: (n) => sizes.push(n),
    });
    batcher.expect(3);
    expect(batcher.depth).toBe(3);
    const answers = [1, 2, 3].map((x) => batcher.submit('m', x, { announced: true }));
    await expect(Promise.all(answers)).resolves.toEqual([10, 20, 30]);
    expect(runner.batches).toEqual([{ key: 'm', inputs: [1, 2, 3] }]);
    expect(sizes).toEqual([3]);
    expect(batcher.depth).toBe(0);
  });

  it('waits at most maxDelayMs for announced items that do not arrive', async () => {
    vi.useFakeTimers();
    const runner = recordingRunner();
    const batcher = new MicroBatcher(runner.run, { maxBatch: 8, maxDelayMs: 5 });
    batcher.expect(2);
    const first = batcher.submit('m', 1, { announced: true });
    expect(runner.batches).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(4);
    expect(runner.batches).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(runner.batches).toEqual([{ key: 'm', inputs: [1] }]);
    await expect(first).resolves.toBe(10);
  });

  it('an announced item that fails before submitting no longer holds the batch back', async () => {
    vi.useFakeTimers();
    const runner = recordingRunner();
    const batcher = new MicroBatcher(runner.run, { maxBatch: 8, maxDelayMs: 60_000 });
    const cancel = batcher.expect(2);
    const first = batcher.submit('m', 1, { announced: true });
    await vi.advanceTimersByTimeAsync(1000);
    expect(runner.batches).toHaveLength(0);
    cancel();
    await vi.advanceTimersByTimeAsync(0);
    expect(runner.batches).toEqual([{ key: 'm', inputs: [1] }]);
    await expect(first).resolves.toBe(10);
  });

  it('queues while a batch runs, then runs the queue in batches of at most maxBatch, one key per batch', async () => {
    const runner = recordingRunner();
    const batcher = new MicroBatcher(runner.run, { maxBatch: 2, maxDelayMs: 0 });
    const open = runner.hold();
    const answers = [batcher.submit('a', 1)];
    await nextTurn();
    // The first batch is running (held); these queue behind it.
    answers.push(
      batcher.submit('a', 2),
      batcher.submit('b', 3),
      batcher.submit('a', 4),
      batcher.submit('a', 5),
    );
    expect(batcher.depth).toBe(4);
    open();
    await expect(Promise.all(answers)).resolves.toEqual([10, 20, 30, 40, 50]);
    expect(runner.batches).toEqual([
      { key: 'a', inputs: [1] },
      { key: 'a', inputs: [2, 4] },
      { key: 'b', inputs: [3] },
      { key: 'a', inputs: [5] },
    ]);
  });

  it('rejects every item of a failed batch and keeps serving', async () => {
    let fail = true;
    const batcher = new MicroBatcher(
      async (_key: string, inputs: number[]) => {
        if (fail) throw new Error('kernel failed');
        return inputs;
      },
      { maxBatch: 4, maxDelayMs: 0 },
    );
    await expect(batcher.submit('m', 1)).rejects.toThrow('kernel failed');
    fail = false;
    await expect(batcher.submit('m', 2)).resolves.toBe(2);
  });

  it('an aborted item leaves the queue and rejects with the reason', async () => {
    const runner = recordingRunner();
    const batcher = new MicroBatcher(runner.run, { maxBatch: 4, maxDelayMs: 0 });
    const open = runner.hold();
    const running = batcher.submit('m', 1);
    await nextTurn();
    const token = cancelToken();
    const queued = batcher.submit('m', 2, { cancel: token });
    token.cancel(new Error('deadline'));
    await expect(queued).rejects.toThrow('deadline');
    expect(batcher.depth).toBe(0);
    open();
    await expect(running).resolves.toBe(10);
    expect(runner.batches).toEqual([{ key: 'm', inputs: [1] }]);
  });
});
