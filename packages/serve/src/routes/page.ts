import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServeContext } from '../context.ts';

/**
 * The page's files (plain HTML, CSS and JS, no build step) live in packages/serve/public/: two levels up from this
 * source file, one up from the bundle in dist/ (see scripts/build.ts).
 */
export function publicDir(from = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from), up = 0; up < 3; dir = dirname(dir), up += 1) {
    if (existsSync(join(dir, 'public', 'index.html'))) return join(dir, 'public');
  }
  throw new Error(`packages/serve/public/index.html not found above ${from}`);
}

const ASSETS: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/** GET / (the demo page) and its script and style under /static/, read once at start. */
export const pageRoutes: FastifyPluginAsyncZod<ServeContext> = async (app) => {
  const files = new Map<string, Buffer>();
  const dir = publicDir();
  for (const name of ['index.html', ...Object.keys(ASSETS)]) {
    files.set(name, await readFile(join(dir, name)));
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
