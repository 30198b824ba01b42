/**
 * Test support: the tiny two-class bundle (tests/support/serve/tiny-bundle.ts) trained and published into a temp
 * dir, and the service started on it. A test file calls one of these once in its beforeAll, so each file pays for
 * one training and one model load.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createStorage, type Storage } from '@tfmlops/core';
import { buildTestApp, type TestApp } from '../../../tests/support/serve/test-app.ts';
import {
  publishTinyBundle,
  trainTinyModel,
  useWasmBackend,
} from '../../../tests/support/serve/tiny-bundle.ts';
import type { ServeConfig } from './config.ts';

export interface PublishedTiny {
  /** `<dir>/models/tiny/latest.json`: what MODEL_URI names. */
  modelUri: string;
  /** The published bundle's version. */
  version: string;
  storage: Storage;
  /** Disposes the trained model and removes the temp dir. */
  close(): Promise<void>;
}

export interface TinyService extends PublishedTiny {
  /** The service on the bundle, started (model loaded). */
  service: TestApp;
}

/** Trains the tiny model on the wasm backend and publishes it under a fresh temp dir named after `prefix`. */
export async function publishTiny(prefix: string): Promise<PublishedTiny> {
  await useWasmBackend();
  const storage = createStorage();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let trained: tfl.LayersModel | undefined;
  const close = async () => {
    trained?.dispose();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    trained = await trainTinyModel();
    const published = await publishTinyBundle(join(dir, 'staging'), join(dir, 'models'), trained, storage);
    return { modelUri: published.latestUri, version: published.manifest.version, storage, close };
  } catch (error) {
    // A failed beforeAll leaves afterAll nothing to close: clean up here.
    await close();
    throw error;
  }
}

/** `publishTiny`, then the service on it with `config`; `close` closes the service first. */
export async function startTinyService(
  prefix: string,
  config: Omit<Partial<ServeConfig>, 'modelUri'> = {},
): Promise<TinyService> {
  const tiny = await publishTiny(prefix);
  try {
    const service = await buildTestApp({ ...config, modelUri: tiny.modelUri }, tiny.storage);
    const close = async () => {
      await service.app.close();
      await tiny.close();
    };
    return { ...tiny, service, close };
  } catch (error) {
    await tiny.close();
    throw error;
  }
}
