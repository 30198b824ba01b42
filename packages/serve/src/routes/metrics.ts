import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ServeContext } from '../context.ts';

/** GET /metrics: Prometheus text format. */
export const metricsRoutes: FastifyPluginAsyncZod<ServeContext> = async (app, { metrics }) => {
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics',
        description:
          'Requests by route and status, latency, model load time, batch sizes, queue depth, live tensors and memory, process metrics, predictions by class, confidence, reload failures, and the model version (model_info).',
        tags: ['monitoring'],
        produces: ['text/plain'],
        response: { 200: z.string() },
      },
    },
    async (_request, reply) => {
      reply.type(metrics.contentType);
      return metrics.text();
    },
  );
};
