/**
 * `pnpm --filter @tfmlops/serve build`: the service as one CommonJS file, packages/serve/dist/server.cjs, for the API
 * image (`node packages/serve/dist/server.cjs`). Measured here it starts with about a third of the CPU time and
 * ~75 MB less memory than `node --import tsx src/server.ts`: no TypeScript loader thread, no resolution per module
 * of our ~200 files, no scan of the TF.js CommonJS bundles for ESM named exports (see bench/README.md).
 *
 * Left as files in node_modules (serve's own dependencies, so they resolve from dist/): native addons (sharp,
 * tfjs-node), packages that read files next to themselves (tfjs-backend-wasm's .wasm, swagger-ui's assets), all of
 * TF.js (one tfjs-core instance for every backend), and what the service loads only on demand (the GCS SDK, the
 * pretty logger, the plotting libraries).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { type BuildOptions, build, type Metafile } from 'esbuild';

const PACKAGE_DIR = join(import.meta.dirname, '..');
export const OUTFILE = join(PACKAGE_DIR, 'dist', 'server.cjs');
/**
 * Written next to the bundles: the packages they import from node_modules (`{"packages": [...]}`), so the API image
 * keeps those and their dependencies and nothing else (dockerfiles/prune-deploy.mjs).
 */
export const EXTERNALS_FILE = 'externals.json';

const EXTERNAL = [
  'sharp',
  '@tensorflow/*',
  '@fastify/swagger-ui',
  '@google-cloud/storage',
  'pino-pretty',
  'vega',
  'vega-lite',
  'canvas',
];

/**
 * Worker threads the service starts by a `.ts` URL next to the module that starts them: each is built as its own
 * bundle in dist/ and the URL in server.cjs is pointed at it.
 */
const WORKERS: Record<string, string> = {
  './drift-worker.ts': join(PACKAGE_DIR, 'src', 'drift', 'drift-worker.ts'),
};

/** The worker bundles written next to the service's bundle (dist/drift-worker.cjs, ...). */
export function workerOutfiles(outfile = OUTFILE): string[] {
  return Object.keys(WORKERS).map((url) => workerOutfile(url, outfile));
}

function workerOutfile(url: string, outfile: string): string {
  return join(dirname(outfile), `${basename(url, '.ts')}.cjs`);
}

/** Modules bundled along with the packages' index files that load a `.ts` file the service never runs. */
const NEVER_RUN: Record<string, string> = {
  './gradient-worker.ts': "@tfmlops/runtime's data-parallel training worker; the service never trains",
};

/** `import.meta.url` of the bundle, for code that resolves files relative to itself. */
const META_URL = '__tfmlops_import_meta_url';

export async function buildServer(outfile = OUTFILE): Promise<string> {
  const common = {
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: EXTERNAL,
    define: { 'import.meta.url': META_URL },
    banner: { js: `const ${META_URL} = require('node:url').pathToFileURL(__filename).href;` },
    sourcemap: 'linked',
    logLevel: 'warning',
    metafile: true,
  } satisfies BuildOptions;
  const metafiles = [
    (await build({ ...common, entryPoints: [join(PACKAGE_DIR, 'src', 'server.ts')], outfile })).metafile,
  ];
  let code = readFileSync(outfile, 'utf8');
  for (const [url, entry] of Object.entries(WORKERS)) {
    const name = basename(workerOutfile(url, outfile));
    const worker = await build({ ...common, entryPoints: [entry], outfile: join(dirname(outfile), name) });
    metafiles.push(worker.metafile);
    const reference = `new URL(${JSON.stringify(url)}, ${META_URL})`;
    if (!code.includes(reference)) {
      throw new Error(
        `the bundle does not start ${url} as expected (${reference}); update WORKERS in this script`,
      );
    }
    code = code.replaceAll(reference, `new URL(${JSON.stringify(`./${name}`)}, ${META_URL})`);
  }
  writeFileSync(outfile, code);
  writeFileSync(
    join(dirname(outfile), EXTERNALS_FILE),
    `${JSON.stringify({ packages: externalPackages(metafiles) }, null, 2)}\n`,
  );
  // A module that starts a worker or reads a file by a `.ts` URL would break silently in the bundle: refuse it.
  const tsUrls = [...code.matchAll(/new URL\(\s*["'`]([^"'`]+\.ts)["'`]\s*,\s*__tfmlops_import_meta_url/g)]
    .map((match) => match[1] as string)
    .filter((url) => !(url in NEVER_RUN));
  if (tsUrls.length > 0) {
    throw new Error(
      `the bundle would load ${tsUrls.join(', ')} by a .ts URL next to itself, which does not exist in dist/; add those modules as entry points of this build`,
    );
  }
  return outfile;
}

/** The npm packages the bundles import (left external), by package name; Node's built-in modules left out. */
function externalPackages(metafiles: Metafile[]): string[] {
  const names = new Set<string>();
  for (const metafile of metafiles) {
    for (const output of Object.values(metafile.outputs)) {
      for (const { path, external } of output.imports) {
        if (!external || path.startsWith('node:') || builtinModules.includes(path)) continue;
        const parts = path.split('/');
        names.add(path.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
      }
    }
  }
  return [...names].sort();
}

if (process.argv[1] === import.meta.filename) {
  const file = await buildServer();
  process.stdout.write(`built ${file}\n`);
}
