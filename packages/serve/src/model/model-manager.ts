import { formatError, type Logger, type Storage } from '@tfmlops/core';
import { readBundleManifest, resolveBundle } from '@tfmlops/model';
import type { ServeMetrics } from '../monitoring/metrics.ts';
import type { ModelSlot } from './model-slot.ts';
import type { LoadServingModelOptions } from './serving-model.ts';
import type { ServingModel } from './types.ts';

export type ReloadTrigger = 'admin' | 'poll';

/** `unchanged`: MODEL_URI names the bundle already serving (then `previous` is null). */
export interface ReloadOutcome {
  status: 'swapped' | 'unchanged';
  previous: ModelRef | null;
  current: ModelRef;
}

export interface ModelRef {
  name: string;
  version: string;
  sha256: string;
}

export type ModelState = 'loading' | 'ready' | 'failed' | 'draining';

export interface ModelManagerOptions {
  modelUri: string;
  storage: Storage;
  cacheDir?: string;
  logger: Logger;
  metrics: ServeMetrics;
  slot: ModelSlot;
  warmupBatchSizes: number[];
  /** The loader; tests substitute one that fails on cue. */
  load: (uri: string, options: LoadServingModelOptions) => Promise<ServingModel>;
}

/**
 * Owns which model serves: the first load (which must succeed for the service to be ready), reloads on request
 * (single-flight: concurrent calls share one), and polling of MODEL_URI. A reload loads, verifies and warms the new
 * bundle beside the old one and swaps only then; on any failure the old model keeps serving and the failure is
 * counted.
 */
export class ModelManager {
  readonly #options: ModelManagerOptions;
  #state: ModelState = 'loading';
  #reloading: Promise<ReloadOutcome> | undefined;
  #poller: NodeJS.Timeout | undefined;
  #polling = false;
  /** bundle.json SHA-256 of the last bundle that failed to load, so polling does not retry it every interval. */
  #failedSha256: string | undefined;

  constructor(options: ModelManagerOptions) {
    this.#options = options;
  }

  get state(): ModelState {
    return this.#state;
  }

  get current(): ServingModel | undefined {
    return this.#options.slot.current;
  }

  /** Loads MODEL_URI for the first time; throws (a ModelLoadError, StorageError...) when it cannot. */
  async loadInitial(): Promise<ServingModel> {
    try {
      const model = await this.#load();
      this.#options.slot.replace(model);
      this.#options.metrics.modelServing(model);
      this.#state = 'ready';
      this.#options.logger.info(
        {
          model: model.name,
          version: model.version,
          backend: model.backend,
          loadSeconds: model.loadSeconds,
          bundle: model.uri,
        },
        'model loaded and warmed up; ready',
      );
      return model;
    } catch (error) {
      this.#state = 'failed';
      throw error;
    }
  }

  /** Loads the newest bundle MODEL_URI names and swaps it in, unless it is the one already serving. */
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    this.#reloading ??= this.#reload(trigger).finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  /** Polls MODEL_URI every `seconds` and reloads when the bundle it names changes. */
  startPolling(seconds: number): void {
    if (seconds <= 0 || this.#poller) return;
    this.#poller = setInterval(() => void this.#poll(), seconds * 1000);
    // Polling alone must not keep the process alive (shutdown closes the server, then the process ends).
    this.#poller.unref();
  }

  /** Stops polling and refuses new work; in-flight requests keep their model until they finish. */
  drain(): void {
    this.#state = 'draining';
    if (this.#poller) clearInterval(this.#poller);
    this.#poller = undefined;
  }

  /** After draining: disposes the model (once the last request using it has finished). */
  close(): void {
    this.drain();
    this.#options.slot.clear();
  }

  async #reload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const { logger, metrics, slot, modelUri, storage } = this.#options;
    const previous = slot.current;
    try {
      const resolved = await resolveBundle(modelUri, storage);
      const { sha256 } = await readBundleManifest(resolved.dir, storage, resolved.pointer?.bundleSha256);
      if (previous && sha256 === previous.sha256) {
        this.#failedSha256 = undefined;
        return { status: 'unchanged', previous: null, current: refOf(previous) };
      }
      const model = await this.#load();
      if (this.#state === 'draining') {
        model.dispose();
        return previous
          ? { status: 'unchanged', previous: null, current: refOf(previous) }
          : { status: 'swapped', previous: null, current: refOf(model) };
      }
      slot.replace(model);
      this.#state = 'ready';
      this.#failedSha256 = undefined;
      metrics.modelServing(model);
      metrics.reloads.inc({ trigger });
      logger.info(
        {
          trigger,
          model: model.name,
          version: model.version,
          previousVersion: previous?.version ?? null,
          loadSeconds: model.loadSeconds,
        },
        'new model swapped in',
      );
      return { status: 'swapped', previous: previous ? refOf(previous) : null, current: refOf(model) };
    } catch (error) {
      metrics.reloadFailures.inc({ trigger });
      logger.error(
        { trigger, error: formatError(error), servingVersion: previous?.version ?? null },
        'model reload failed; the previous model keeps serving',
      );
      throw error;
    }
  }

  async #poll(): Promise<void> {
    if (this.#polling || this.#reloading || this.#state === 'draining') return;
    this.#polling = true;
    try {
      const { modelUri, storage, slot } = this.#options;
      const resolved = await resolveBundle(modelUri, storage);
      const { sha256 } = await readBundleManifest(resolved.dir, storage, resolved.pointer?.bundleSha256);
      if (sha256 === slot.current?.sha256 || sha256 === this.#failedSha256) return;
      try {
        await this.reload('poll');
      } catch {
        this.#failedSha256 = sha256;
      }
    } catch (error) {
      this.#options.metrics.reloadFailures.inc({ trigger: 'poll' });
      this.#options.logger.warn(
        { error: formatError(error), modelUri: this.#options.modelUri },
        'polling MODEL_URI failed; will try again',
      );
    } finally {
      this.#polling = false;
    }
  }

  #load(): Promise<ServingModel> {
    const { load, modelUri, storage, cacheDir, logger, warmupBatchSizes } = this.#options;
    return load(modelUri, { storage, cacheDir, logger, warmupBatchSizes });
  }
}

function refOf(model: ServingModel): ModelRef {
  return { name: model.name, version: model.version, sha256: model.sha256 };
}
