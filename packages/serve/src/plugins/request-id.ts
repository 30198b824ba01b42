import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The id every log line of a request carries and the response returns as X-Request-Id: the caller's X-Request-Id
 * when it is a sane token, else the trace id Cloud Run's front end sends (so our lines match its request log), else a
 * new UUID.
 */
export function requestIdFor(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  if (typeof given === 'string' && SAFE_ID.test(given)) return given;
  const trace = request.headers['x-cloud-trace-context'];
  const traceId = typeof trace === 'string' ? trace.split('/')[0] : undefined;
  if (traceId && /^[0-9a-f]{32}$/i.test(traceId)) return traceId;
  return randomUUID();
}
