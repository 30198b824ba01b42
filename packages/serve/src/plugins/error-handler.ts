import { CorruptImageError } from '@tfmlops/data';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { HttpError } from '../errors.ts';

/** Fastify's and @fastify/multipart's own 4xx codes, renamed to the service's vocabulary. */
const FRAMEWORK_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_REQ_FILE_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_CONTENT_LENGTH',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'EMPTY_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_BODY',
  FST_FILES_LIMIT: 'MULTIPART_TOO_MANY_FILES',
  FST_PARTS_LIMIT: 'MULTIPART_TOO_MANY_PARTS',
  FST_FIELDS_LIMIT: 'MULTIPART_TOO_MANY_FIELDS',
  FST_PROTO_VIOLATION: 'MULTIPART_MALFORMED',
  FST_ERR_NOT_FOUND: 'NOT_FOUND',
};

const FRAMEWORK_HINTS: Record<string, string> = {
  BODY_TOO_LARGE: 'send a smaller image (the limit is BODY_LIMIT_BYTES)',
  UNSUPPORTED_MEDIA_TYPE:
    'send multipart/form-data with a `file` field, or the image as the body with Content-Type image/png, image/jpeg or image/webp',
};

export interface ErrorBody {
  error: { code: string; message: string; hint?: string };
}

/**
 * The one place errors become HTTP answers: `{error: {code, message, hint?}}` with the status the error carries. Our
 * HttpErrors and framework 4xx keep their messages; anything else is a bug, answered 500 with only the request id
 * (the stack goes to the log, never to the client).
 */
export function registerErrorHandlers(
  app: FastifyInstance,
  options: { bodyLimitBytes: number; onRejected?: (code: string) => void },
): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, body, retryAfter } = describe(error, request, options.bodyLimitBytes);
    if (status >= 500 && !(error instanceof HttpError)) {
      request.log.error({ err: error }, 'request failed with an unexpected error');
    } else {
      request.log.info({ status, code: body.error.code, reason: body.error.message }, 'request refused');
    }
    if (request.routeOptions.url?.startsWith('/predict')) options.onRejected?.(body.error.code);
    send(reply, status, body, retryAfter);
  });
  app.setNotFoundHandler((request, reply) => {
    send(reply, 404, {
      error: {
        code: 'NOT_FOUND',
        message: `no route ${request.method} ${request.url.split('?')[0]}`,
        hint: 'see GET /docs for the API',
      },
    });
  });
}

function send(reply: FastifyReply, status: number, body: ErrorBody, retryAfter?: number): void {
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  // A failure can happen after a route chose its content type (e.g. text/html); errors are always JSON.
  reply.code(status).type('application/json; charset=utf-8').serializer(JSON.stringify).send(body);
}

function describe(
  error: FastifyError,
  request: FastifyRequest,
  bodyLimitBytes: number,
): { status: number; body: ErrorBody; retryAfter?: number } {
  if (error instanceof HttpError) {
    return {
      status: error.statusCode,
      body: { error: withHint(error.code, error.message, error.hint) },
      retryAfter: error.retryAfterSeconds,
    };
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = error.validationContext ?? 'request';
    const problems = error.validation
      .map((issue) => `${where}${issue.instancePath.replace(/\//g, '.')}: ${issue.message}`)
      .join('; ');
    return {
      status: 400,
      body: { error: withHint('INVALID_REQUEST', problems, 'see GET /docs for the parameters') },
    };
  }
  if (error instanceof CorruptImageError) {
    return { status: 422, body: { error: withHint('IMAGE_UNDECODABLE', error.message, error.hint) } };
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const code = FRAMEWORK_CODES[error.code] ?? (error.code?.replace(/^FST_(ERR_)?/, '') || 'BAD_REQUEST');
    return {
      status,
      body: {
        error: withHint(code, frameworkMessage(code, error, request, bodyLimitBytes), FRAMEWORK_HINTS[code]),
      },
    };
  }
  return {
    status: 500,
    body: {
      error: {
        code: 'INTERNAL',
        message: `internal error (request id ${request.id}); the details are in the service log`,
      },
    },
  };
}

/** Fastify's messages are terse ("Unsupported Media Type"); say what was found and what the limit is. */
function frameworkMessage(
  code: string,
  error: FastifyError,
  request: FastifyRequest,
  bodyLimitBytes: number,
): string {
  if (code === 'UNSUPPORTED_MEDIA_TYPE') {
    const type = request.headers['content-type']?.split(';')[0];
    return `the request has ${type ? `Content-Type ${type}` : 'no Content-Type header'}; expected multipart/form-data, image/png, image/jpeg or image/webp`;
  }
  if (code === 'BODY_TOO_LARGE')
    return `the request body is larger than this service's limit of ${bodyLimitBytes} bytes`;
  return error.message;
}

function withHint(code: string, message: string, hint: string | undefined): ErrorBody['error'] {
  return hint ? { code, message, hint } : { code, message };
}
