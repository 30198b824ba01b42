import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServeContext } from '../context.ts';
import { HttpError, unavailable } from '../errors.ts';
import { errorResponseSchema } from '../schemas/common.ts';
import { driftResponseSchema } from '../schemas/monitoring.ts';

/** GET /monitoring/drift: the drift monitor's latest rows for the model being served. */
export const monitoringRoutes: FastifyPluginAsyncZod<ServeContext> = async (app, { drift, models }) => {
  app.get(
    '/monitoring/drift',
    {
      schema: {
        summary: "Data drift: the live window against the bundle's reference statistics",
        description:
          'One row per feature and test: per-channel pixel mean and std (KS), predicted class (chi-square), top-1 probability (KS), embeddings (MMD, RBF kernel). Scores are p-values, null until the window holds DRIFT_MIN_SAMPLES inputs; the tests run in a worker thread every DRIFT_INTERVAL_SECONDS. The same numbers are the drift_* metrics.',
        tags: ['monitoring'],
        response: { 200: driftResponseSchema, 404: errorResponseSchema, 503: errorResponseSchema },
      },
    },
    async () => {
      if (!drift.enabled) {
        throw new HttpError(404, 'DRIFT_MONITOR_OFF', 'drift monitoring is turned off', {
          hint: 'unset DRIFT_MONITOR or set it to true',
        });
      }
      const state = drift.state();
      if (!state || !models.current) {
        throw unavailable(
          'MODEL_NOT_READY',
          'no model is loaded yet',
          2,
          'retry once GET /readyz answers 200',
        );
      }
      return state;
    },
  );
};
