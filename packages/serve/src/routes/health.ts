import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServeContext } from '../context.ts';
import { errorResponseSchema } from '../schemas/common.ts';
import { healthResponseSchema, modelInfoResponseSchema, readinessResponseSchema } from '../schemas/health.ts';

/** GET /healthz (the process answers), GET /readyz (a model is loaded and warmed), GET /model (what serves). */
export const healthRoutes: FastifyPluginAsyncZod<ServeContext> = async (app, { models }) => {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness: the process answers',
        tags: ['health'],
        response: { 200: healthResponseSchema },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: a model is loaded and warmed up (503 while loading and after SIGTERM)',
        tags: ['health'],
        response: { 200: readinessResponseSchema, 503: readinessResponseSchema },
      },
    },
    async (_request, reply) => {
      const model = models.current;
      const ready = models.state === 'ready' && model !== undefined;
      reply.code(ready ? 200 : 503);
      return {
        status: models.state,
        model: model ? { name: model.name, version: model.version } : null,
      };
    },
  );

  app.get(
    '/model',
    {
      schema: {
        summary: 'The model being served: labels, input shape, preprocessing, evaluation metrics',
        tags: ['health'],
        response: { 200: modelInfoResponseSchema, 503: errorResponseSchema },
      },
    },
    async (_request, reply) => {
      const model = models.current;
      if (!model) {
        reply.header('retry-after', '2').code(503);
        return { error: { code: 'MODEL_NOT_READY', message: 'no model is loaded yet' } };
      }
      return {
        name: model.name,
        version: model.version,
        labels: model.labels,
        inputShape: model.inputShape,
        preprocess: model.preprocess,
        backend: model.backend,
        metrics: model.manifest.metrics,
        createdAt: model.manifest.createdAt,
      };
    },
  );
};
