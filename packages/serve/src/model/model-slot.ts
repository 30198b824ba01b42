import type { ServingModel } from './types.ts';

/** A model held for the length of one request; `release` exactly once (later calls do nothing). */
export interface ModelLease {
  readonly model: ServingModel;
  release(): void;
}

interface Entry {
  model: ServingModel;
  leases: number;
  retired: boolean;
}

/**
 * The model being served, swapped atomically. A request leases the current model when it starts and keeps it to the
 * end, so a swap never changes the model (or its preprocessing) under a request; a replaced model is disposed when
 * its last lease is released.
 */
export class ModelSlot {
  #current: Entry | undefined;

  get current(): ServingModel | undefined {
    return this.#current?.model;
  }

  /** The current model, leased; undefined while none is loaded. */
  acquire(): ModelLease | undefined {
    const entry = this.#current;
    if (!entry) return undefined;
    entry.leases += 1;
    let released = false;
    return {
      model: entry.model,
      release: () => {
        if (released) return;
        released = true;
        entry.leases -= 1;
        if (entry.retired && entry.leases === 0) entry.model.dispose();
      },
    };
  }

  /** Makes `model` current; returns the model it replaced (disposed once its in-flight requests finish). */
  replace(model: ServingModel): ServingModel | undefined {
    const previous = this.#current;
    this.#current = { model, leases: 0, retired: false };
    if (previous) this.#retire(previous);
    return previous?.model;
  }

  /** Empties the slot; the model is disposed once its in-flight requests finish. */
  clear(): void {
    const previous = this.#current;
    this.#current = undefined;
    if (previous) this.#retire(previous);
  }

  #retire(entry: Entry): void {
    entry.retired = true;
    if (entry.leases === 0) entry.model.dispose();
  }
}
