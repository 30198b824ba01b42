import { timingSafeEqual } from 'node:crypto';
import { MlopsError } from '@tfmlops/core';
import type { FastifyBaseLogger } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServeContext } from '../context.ts';
import { HttpError } from '../errors.ts';
import { reloadResponseSchema } from '../schemas/admin.ts';
import { errorResponseSchema } from '../schemas/common.ts';

/**
 * POST /admin/reload (Bearer ADMIN_TOKEN): loads the newest bundle MODEL_URI names beside the serving one, verifies
 * and warms it, and swaps it in; answers when done. Without a configured token the route does not exist (404).
 */
export const adminRoutes: FastifyPluginAsyncZod<ServeContext> = async (
  app,
  { config, models, onAdminReload },
) => {
  const token = config.adminToken;
  app.post(
    '/admin/reload',
    {
      schema: {
        summary: 'Load the newest bundle of MODEL_URI and swap it in (Bearer ADMIN_TOKEN)',
        description:
          'Serving continues on the current model while the new one is downloaded, verified and warmed up; in-flight requests finish on the model they started with. On failure the current model keeps serving and model_reload_failures_total counts it.',
        tags: ['admin'],
        security: [{ bearer: [] }],
        response: {
          200: reloadResponseSchema,
          401: errorResponseSchema,
          404: errorResponseSchema,
          502: errorResponseSchema,
        },
      },
    },
    async (request, reply) => {
      if (!token) {
        throw new HttpError(404, 'NOT_FOUND', 'no route POST /admin/reload', {
          hint: 'set ADMIN_TOKEN to enable model reloads over HTTP',
        });
      }
      if (!bearerMatches(request.headers.authorization, token)) {
        reply.header('www-authenticate', 'Bearer');
        throw new HttpError(
          401,
          'UNAUTHORIZED',
          'a valid Authorization: Bearer <ADMIN_TOKEN> header is required',
        );
      }
      let outcome: Awaited<ReturnType<typeof models.reload>>;
      try {
        outcome = await models.reload('admin');
      } catch (error) {
        throw reloadFailed(error, request.log);
      }
      onAdminReload?.(outcome);
      return outcome;
    },
  );
};

function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!.trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The reload's reason goes to the (authenticated) operator: which file failed and why. */
function reloadFailed(error: unknown, log: FastifyBaseLogger): HttpError {
  log.warn({ code: (error as MlopsError).code }, 'admin reload failed');
  const reason =
    error instanceof MlopsError ? `${error.code}: ${error.message}` : 'unexpected error (see the log)';
  return new HttpError(
    502,
    'MODEL_RELOAD_FAILED',
    `reload failed; the previous model keeps serving. ${reason}`,
    {
      hint: error instanceof MlopsError ? error.hint : undefined,
    },
  );
}
