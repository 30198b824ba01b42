import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServeContext } from '../context.ts';

/** The page's files, next to src/: plain HTML, CSS and JS (no build step). */
export const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));

const ASSETS: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/** GET / (the demo page) and its script and style under /static/, read once at start. */
export const pageRoutes: FastifyPluginAsyncZod<ServeContext> = async (app) => {
  const files = new Map<string, Buffer>();
  for (const name of ['index.html', ...Object.keys(ASSETS)]) {
    files.set(name, await readFile(join(PUBLIC_DIR, name)));
  }
  const hide = { schema: { hide: true } };
  app.get('/', hide, async (_request, reply) => {
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache');
    return files.get('index.html');
  });
  for (const [name, type] of Object.entries(ASSETS)) {
    app.get(`/static/${name}`, hide, async (_request, reply) => {
      reply.type(type).header('cache-control', 'no-cache');
      return files.get(name);
    });
  }
};
