import { describe, expect, it } from 'vitest';
import { ModelSlot } from './model-slot.ts';
import type { ServingModel } from './types.ts';

function fakeModel(version: string, disposed: string[]): ServingModel {
  return {
    version,
    dispose: () => {
      disposed.push(version);
    },
  } as unknown as ServingModel;
}

describe('ModelSlot', () => {
  it('is empty until a model is set', () => {
    expect(new ModelSlot().acquire()).toBeUndefined();
  });

  it('a swap keeps the old model for requests that leased it and disposes it after the last release', () => {
    const disposed: string[] = [];
    const slot = new ModelSlot();
    slot.replace(fakeModel('v1', disposed));
    const first = slot.acquire()!;
    const second = slot.acquire()!;
    expect(slot.replace(fakeModel('v2', disposed))?.version).toBe('v1');
    // New requests get v2 at once; v1 still serves the two in flight.
    expect(slot.acquire()!.model.version).toBe('v2');
    expect(first.model.version).toBe('v1');
    first.release();
    first.release(); // a second release of the same lease counts once
    expect(disposed).toEqual([]);
    second.release();
    expect(disposed).toEqual(['v1']);
  });

  it('disposes a replaced model with no requests at once, and the last one on clear', () => {
    const disposed: string[] = [];
    const slot = new ModelSlot();
    slot.replace(fakeModel('v1', disposed));
    slot.replace(fakeModel('v2', disposed));
    expect(disposed).toEqual(['v1']);
    const lease = slot.acquire()!;
    slot.clear();
    expect(slot.current).toBeUndefined();
    expect(disposed).toEqual(['v1']);
    lease.release();
    expect(disposed).toEqual(['v1', 'v2']);
  });
});
