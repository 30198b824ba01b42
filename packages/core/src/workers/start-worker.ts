import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread on a module of this code base. Sources run as TypeScript (through tsx under `pnpm ...`,
 * vitest and the images alike), and a worker does not inherit its parent's loader, so a `.ts` entry is started by a
 * two-line bootstrap that imports it through tsx's API (resolved from this package); a `.js`/`.mjs` entry, as a
 * bundler would produce, starts directly.
 */
export function startModuleWorker(entry: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  const tsxApi = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((api) => api.tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(import.meta.url)}));`;
  return new Worker(bootstrap, { ...options, eval: true });
}
