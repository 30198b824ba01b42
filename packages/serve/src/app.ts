import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import multipart from '@fastify/multipart';
import type { Logger, Storage } from '@tfmlops/core';
import { configureSharpForBatches } from '@tfmlops/data';
import Fastify, {
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import type { ServeConfig } from './config.ts';
import type { ServeContext } from './context.ts';
import { PredictionService } from './inference/prediction-service.ts';
import { ModelManager, type ReloadOutcome } from './model/model-manager.ts';
import { ModelSlot } from './model/model-slot.ts';
import { type LoadServingModelOptions, loadServingModel } from './model/serving-model.ts';
import type { ServingModel } from './model/types.ts';
import { DriftService } from './monitoring/drift-service.ts';
import { ServeMetrics } from './monitoring/metrics.ts';
import { TrafficRecorder } from './monitoring/traffic-recorder.ts';
import { registerDocs } from './plugins/docs.ts';
import { registerErrorHandlers } from './plugins/error-handler.ts';
import { requestIdFor } from './plugins/request-id.ts';
import { registerSecurityHeaders } from './plugins/security.ts';
import { PredictionLogger } from './prediction-log/prediction-logger.ts';
import { adminRoutes } from './routes/admin.ts';
import { healthRoutes } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { monitoringRoutes } from './routes/monitoring.ts';
import { oipRoutes } from './routes/oip.ts';
import { pageRoutes } from './routes/page.ts';
import { predictRoutes } from './routes/predict.ts';
import { IMAGE_CONTENT_TYPES } from './routes/read-images.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The service's parts, for the entry point (start, drain) and for routes added later (e.g. other APIs). */
    serving: ServeContext;
  }
}

export interface ServeDependencies {
  logger: Logger;
  storage: Storage;
  /** Bundle loader; defaults to loadServingModel (tests substitute one to fail on cue). */
  load?: (uri: string, options: LoadServingModelOptions) => Promise<ServingModel>;
  /** Storage for the prediction log; defaults to `storage` (tests give one without retries). */
  predictionLogStorage?: Storage;
  /** Called after POST /admin/reload succeeded (cluster mode: tell the other workers to reload too). */
  onAdminReload?: (outcome: ReloadOutcome) => void;
}

export interface ServeAppOptions {
  config: ServeConfig;
  deps: ServeDependencies;
}

/** The API's version in the OpenAPI document. */
const API_VERSION = '1.0.0';

/**
 * The inference service as a Fastify plugin. It never listens and never loads a model by itself: server.ts (or a
 * test) registers it, calls {@link startServing}, and talks to it over HTTP or `inject`. Registered without
 * encapsulation, since it is the whole application (its error handler and compilers are the app's).
 */
export const serveApp: FastifyPluginAsync<ServeAppOptions> = async (app, { config, deps }) => {
  configureSharpForBatches();
  app.setValidatorCompiler(validatorCompiler);
  // Responses are our own typed objects: the zod schemas type-check the handlers and document the API, and
  // JSON.stringify writes them (re-validating every response with zod cost ~5% of a prediction's CPU).
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  const slot = new ModelSlot();
  let predictions: PredictionService | undefined;
  let drift: DriftService | undefined;
  const predictionLog = createPredictionLogger(config, deps);
  const metrics = new ServeMetrics(
    {
      queueDepth: () => predictions?.queueDepth ?? 0,
      predictionLog: () => predictionLog?.stats,
      driftWindow: () => drift?.windowInputs,
    },
    config,
  );
  drift = new DriftService({ config: config.drift, metrics, logger: deps.logger });
  const logEmbeddings = predictionLog !== undefined && config.predictionLog.embeddings;
  predictions = new PredictionService({
    slot,
    metrics,
    ...config,
    onObserverError: (error) => deps.logger.error({ err: error }, 'a prediction observer failed'),
    wantsEmbeddings: () => drift.enabled || logEmbeddings,
  });
  const recorder =
    drift.enabled || predictionLog
      ? new TrafficRecorder({
          drift,
          predictionLog,
          logImages: config.predictionLog.images,
          logEmbeddings,
          logger: deps.logger,
        })
      : undefined;
  if (recorder) predictions.observe(recorder.observe);
  const models = new ModelManager({
    modelUri: config.modelUri,
    storage: deps.storage,
    cacheDir: config.modelCacheDir,
    logger: deps.logger,
    metrics,
    slot,
    // The first call at a batch size sets up kernels and buffers; do it for the sizes traffic will use most.
    warmupBatchSizes: [...new Set([1, config.maxBatch])],
    load: deps.load ?? loadServingModel,
    onServing: (model) => drift.modelServing(model),
  });
  const context: ServeContext = {
    config,
    predictions,
    models,
    metrics,
    drift,
    predictionLog,
    recorder,
    onAdminReload: deps.onAdminReload,
  };
  app.decorate('serving', context);

  registerErrorHandlers(app, {
    bodyLimitBytes: config.bodyLimitBytes,
    onRejected: (code) => metrics.rejected.inc({ code }),
  });
  observeRequests(app, metrics, () => models.state === 'draining');
  await registerSecurityHeaders(app);
  await app.register(multipart, { throwFileSizeLimit: true });
  app.addContentTypeParser(
    IMAGE_CONTENT_TYPES,
    { parseAs: 'buffer', bodyLimit: config.bodyLimitBytes },
    (_request, body, done) => done(null, body),
  );
  await registerDocs(app, API_VERSION);

  await app.register(predictRoutes, context);
  await app.register(healthRoutes, context);
  await app.register(metricsRoutes, context);
  await app.register(adminRoutes, context);
  await app.register(pageRoutes, context);
  await app.register(monitoringRoutes, context);
  await app.register(oipRoutes, { ...context, serverVersion: API_VERSION, prefix: '/v2' });

  app.addHook('onClose', async () => {
    models.close();
    // In-flight requests have finished: what they logged is flushed (bounded, so a dead bucket cannot hold the
    // shutdown past Cloud Run's limit; what stays unwritten is logged and counted).
    await Promise.all([drift.close(), flushWithin(recorder, config.shutdownTimeoutMs / 2, deps.logger)]);
  });
};
// Not encapsulated: the same effect as wrapping with fastify-plugin.
(serveApp as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

function createPredictionLogger(config: ServeConfig, deps: ServeDependencies): PredictionLogger | undefined {
  const log = config.predictionLog;
  if (!log.uri) return undefined;
  return new PredictionLogger({
    uri: log.uri,
    storage: deps.predictionLogStorage ?? deps.storage,
    sampleRate: log.sampleRate,
    batchSize: log.batchSize,
    flushIntervalMs: log.flushIntervalMs,
    maxBuffered: log.maxBuffered,
    // Object names must not collide between instances (Cloud Run scales out) nor between restarts.
    instanceId: `${config.revision ?? hostname()}-${randomBytes(3).toString('hex')}`,
    logger: deps.logger,
  });
}

async function flushWithin(recorder: TrafficRecorder | undefined, timeoutMs: number, logger: Logger) {
  if (!recorder) return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const outcome = await Promise.race([recorder.close().then(() => 'flushed' as const), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    logger.error(
      { timeoutMs },
      'prediction log: flushing at shutdown took too long; unwritten records are lost',
    );
  }
}

/** Server options shared by server.ts and tests: the logger, request ids, body limit, timeouts. */
export function fastifyOptions(config: ServeConfig, logger: Logger): FastifyServerOptions {
  return {
    loggerInstance: logger,
    // One line per request from observeRequests instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    genReqId: requestIdFor,
    bodyLimit: config.bodyLimitBytes,
    // A client gets this long to send its whole request (slow-upload protection); predictions have their own.
    requestTimeout: 30_000,
    // Cloud Run's front end keeps connections open; answer 503 to requests that arrive while draining.
    return503OnClosing: true,
    trustProxy: true,
  };
}

/** Builds the app (not listening, no model loaded yet). */
export async function createApp(config: ServeConfig, deps: ServeDependencies): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions(config, deps.logger));
  await app.register(serveApp, { config, deps });
  await app.ready();
  return app;
}

/** Loads and warms the model (throws when it cannot), then starts polling MODEL_URI if configured. */
export async function startServing(app: FastifyInstance): Promise<ServingModel> {
  const { models, config } = app.serving;
  const model = await models.loadInitial();
  models.startPolling(config.modelPollSeconds);
  return model;
}

/**
 * Request metrics, the X-Request-Id header, and one log line per answered request (with its request id). While
 * draining, responses close their connection, so keep-alive clients do not hold the shutdown open.
 */
function observeRequests(app: FastifyInstance, metrics: ServeMetrics, draining: () => boolean): void {
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (draining()) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { method: request.method, route, status: String(reply.statusCode) };
    metrics.requests.inc(labels);
    metrics.requestDuration.observe(labels, reply.elapsedTime / 1000);
    const quiet = route === '/healthz' || route === '/readyz' || route === '/metrics';
    request.log[quiet ? 'debug' : 'info'](
      {
        httpRequest: {
          requestMethod: request.method,
          requestUrl: request.url,
          status: reply.statusCode,
          latency: `${(reply.elapsedTime / 1000).toFixed(4)}s`,
          userAgent: request.headers['user-agent'],
          remoteIp: request.ip,
        },
      },
      'request completed',
    );
  });
}
