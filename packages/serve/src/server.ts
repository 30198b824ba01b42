/**
 * `pnpm serve`: the inference service process. Parses the environment once, selects the TF.js backend, listens
 * (so /healthz answers during loading), loads and warms the model (then /readyz answers 200), and on SIGTERM stops
 * accepting, lets in-flight requests finish and exits within SHUTDOWN_TIMEOUT_MS (Cloud Run allows 10 s).
 *
 * With SERVE_WORKERS > 1 this process becomes a node:cluster primary (cluster.ts) that runs this same script that
 * many times as workers. A worker listens only once its model is warm, so the shared port never hands a request
 * to a worker that is still loading.
 */

import cluster from 'node:cluster';
import {
  createLogger,
  createStorage,
  exitCodeFor,
  formatError,
  type Logger,
  MlopsError,
} from '@tfmlops/core';
import type { FastifyInstance } from 'fastify';
import { RELOAD_PEERS, runClusterPrimary, WORKER_READY } from './cluster.ts';
import { parseServeConfig, type ServeConfig } from './config.ts';

async function main(): Promise<void> {
  let config: ServeConfig;
  try {
    config = parseServeConfig(process.env);
  } catch (error) {
    process.stderr.write(`${formatError(error)}\n`);
    process.exit(exitCodeFor(error));
  }
  const logger = createLogger({ level: config.logLevel, name: 'serve' });
  if (config.workers > 1 && cluster.isPrimary) {
    runClusterPrimary({ workers: config.workers, shutdownTimeoutMs: config.shutdownTimeoutMs, logger });
    return;
  }
  const storage = createStorage({ gcs: { apiEndpoint: config.storageEmulatorHost } });
  // The prediction log retries failed batches itself (with backoff, the records kept): the client gives up early
  // instead of retrying one write for up to ten minutes, so a dead bucket is noticed, counted and logged.
  const predictionLogStorage = createStorage({
    gcs: { apiEndpoint: config.storageEmulatorHost, retry: { maxRetries: 1, totalTimeoutSeconds: 30 } },
  });
  let app: FastifyInstance | undefined;
  try {
    // TF.js, sharp and Fastify load only once the environment is known to be valid (a typo fails in a blink).
    const [{ realMachineProbes, selectBackend }, { createApp, startServing }] = await Promise.all([
      import('@tfmlops/runtime'),
      import('./app.ts'),
    ]);
    await selectBackend(
      { backend: config.backend, threads: config.wasmThreads },
      { probes: realMachineProbes(process.env), logger },
    );
    const worker = cluster.isWorker;
    app = await createApp(config, {
      logger,
      storage,
      predictionLogStorage,
      onAdminReload: worker ? () => process.send?.(RELOAD_PEERS) : undefined,
    });
    handleSignals(app, config, logger);
    if (worker) {
      await startServing(app);
      await app.listen({ port: config.port, host: config.host });
      followPeerReloads(app, logger);
      process.send?.(WORKER_READY);
    } else {
      await app.listen({ port: config.port, host: config.host });
      await startServing(app);
    }
  } catch (error) {
    logger.fatal(
      { error: formatError(error), hint: startHint(error, config) },
      'the inference service cannot start',
    );
    await app?.close().catch(() => {});
    process.exit(1);
  }
}

/** What to do when the model is not there: most often, nothing has been trained yet. */
function startHint(error: unknown, config: ServeConfig): string | undefined {
  if (!(error instanceof MlopsError) || error.code !== 'MODEL_NOT_FOUND') return undefined;
  return `no model bundle at MODEL_URI=${config.modelUri}: train one with \`pnpm train --config configs/exp1.yaml\` (it publishes artifacts/models/exp1/latest.json), or point MODEL_URI at a bundle directory or latest.json (local or gs://)`;
}

/** Cluster worker: an admin reload answered by another worker is repeated here (a no-op when already current). */
function followPeerReloads(app: FastifyInstance, logger: Logger): void {
  process.on('message', (message: unknown) => {
    if (message !== RELOAD_PEERS) return;
    app.serving.models.reload('admin').catch((error: unknown) => {
      logger.error({ error: formatError(error) }, "reload after another worker's admin reload failed");
    });
  });
}

function handleSignals(app: FastifyInstance, config: ServeConfig, logger: Logger): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info(
      { signal, timeoutMs: config.shutdownTimeoutMs },
      'shutting down: draining in-flight requests',
    );
    app.serving.models.drain();
    const force = setTimeout(() => {
      logger.error(
        { timeoutMs: config.shutdownTimeoutMs },
        'requests still running at the deadline; exiting',
      );
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    app.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ error: formatError(error) }, 'error while closing');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main();
