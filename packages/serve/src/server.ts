/**
 * `pnpm serve`: the inference service process. Parses the environment once, selects the TF.js backend, listens
 * (so /healthz answers during loading), loads and warms the model (then /readyz answers 200), and on SIGTERM stops
 * accepting, lets in-flight requests finish and exits within SHUTDOWN_TIMEOUT_MS (Cloud Run allows 10 s).
 */
import {
  createLogger,
  createStorage,
  exitCodeFor,
  formatError,
  type Logger,
  MlopsError,
} from '@tfmlops/core';
import type { FastifyInstance } from 'fastify';
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
  const storage = createStorage({ gcs: { apiEndpoint: config.storageEmulatorHost } });
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
    app = await createApp(config, { logger, storage });
    handleSignals(app, config, logger);
    await app.listen({ port: config.port, host: config.host });
    await startServing(app);
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
