import { PassThrough } from 'node:stream';
import { createLogger, type Storage } from '@tfmlops/core';
import {
  createApp,
  defaultServeConfig,
  type ServeConfig,
  type ServeDependencies,
  startServing,
} from '@tfmlops/serve';

type FastifyInstance = Awaited<ReturnType<typeof createApp>>;

export interface TestApp {
  app: FastifyInstance;
  /** Every JSON log line the app wrote so far. */
  logs(): Array<Record<string, unknown>>;
}

/** The service in-process with captured JSON logs; `start` (default true) loads the model like server.ts does. */
export async function buildTestApp(
  config: Partial<ServeConfig> & { modelUri: string },
  storage: Storage,
  options: { load?: ServeDependencies['load']; start?: boolean } = {},
): Promise<TestApp> {
  const stream = new PassThrough();
  const lines: string[] = [];
  let partial = '';
  stream.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
  });
  const logger = createLogger({ level: 'debug', destination: stream, pretty: false });
  const app = await createApp(defaultServeConfig(config), { logger, storage, load: options.load });
  if (options.start ?? true) await startServing(app);
  return { app, logs: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/** A multipart/form-data body with the given file parts (and plain fields), as curl -F sends it. */
export function multipartBody(
  parts: Array<{ name: string; filename?: string; contentType?: string; data: Buffer | string }>,
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----tfmlops${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = part.filename
      ? `form-data; name="${part.name}"; filename="${part.filename}"`
      : `form-data; name="${part.name}"`;
    const type = part.filename ? `\r\nContent-Type: ${part.contentType ?? 'application/octet-stream'}` : '';
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}${type}\r\n\r\n`));
    chunks.push(Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.data));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    payload: Buffer.concat(chunks),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}
