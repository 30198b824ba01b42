import { join } from 'node:path';
import { DEBIAN_PYTHON } from '../lib/python.ts';
import { ROOT } from './bundle.ts';

/** What the load generator sends: the PNG to POST /predict, or raw pixels to the Open Inference Protocol. */
export type RequestKind = 'predict' | 'oip';

/** How to start one server configuration on a port. */
export interface ServeEngine {
  id: string;
  label: string;
  kind: 'tfjs' | 'peer';
  request: RequestKind;
  /** `scratch`: a directory the server may write to (prediction logs), emptied between turns. */
  command(
    port: number,
    modelUri: string,
    scratch: string,
  ): { command: string; args: string[]; env: Record<string, string> };
}

const SERVER = join(ROOT, 'packages', 'serve', 'src', 'server.ts');
const BUNDLE = join(ROOT, 'packages', 'serve', 'dist', 'server.cjs');

/**
 * Our server with its defaults plus `env` (LOG_LEVEL info: one JSON line per request). `tsx`: as `pnpm serve` runs
 * it, node with the tsx loader on server.ts; `bundle`: as the API image runs it, node on the build of
 * scripts/build.ts. `nodeArgs`: node's own flags (V8 flags NODE_OPTIONS refuses, e.g. --optimize-for-size).
 */
function tfjs(
  id: string,
  label: string,
  env: Record<string, string> | ((scratch: string) => Record<string, string>),
  {
    entry = 'tsx',
    request = 'predict',
    nodeArgs = [],
  }: { entry?: 'tsx' | 'bundle'; request?: RequestKind; nodeArgs?: string[] } = {},
): ServeEngine {
  return {
    id,
    label,
    kind: 'tfjs',
    request,
    command: (port, modelUri, scratch) => ({
      command: process.execPath,
      args: [...nodeArgs, ...(entry === 'tsx' ? ['--import', 'tsx', SERVER] : [BUNDLE])],
      env: {
        PORT: String(port),
        HOST: '127.0.0.1',
        MODEL_URI: modelUri,
        ...(typeof env === 'function' ? env(scratch) : env),
      },
    }),
  };
}

function fastapi(workers: number): ServeEngine {
  return {
    id: `fastapi-${workers}w`,
    label: `FastAPI + uvicorn, ${workers} worker${workers > 1 ? 's' : ''}, PyTorch 1 thread each`,
    kind: 'peer',
    request: 'predict',
    command: (port) => ({
      command: DEBIAN_PYTHON,
      args: [
        '-m',
        'uvicorn',
        '--app-dir',
        join(ROOT, 'bench', 'serve'),
        'peer_fastapi:app',
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--workers',
        String(workers),
        '--no-access-log',
        '--log-level',
        'warning',
      ],
      env: { TORCH_THREADS: '1' },
    }),
  };
}

/**
 * Every configuration the benchmark can run; `tfjs` is what `pnpm serve` runs with nothing set (drift monitoring
 * on, prediction logging off). The issue-11 comparisons: `tfjs-oip` against `tfjs` (same server, the Open
 * Inference Protocol with UINT8 pixels instead of a PNG to /predict), `tfjs-drift-off` against `tfjs` (p99 with
 * drift monitoring off and on), `tfjs-log` against `tfjs` (every prediction logged, to local disk).
 */
export const ENGINES: ServeEngine[] = [
  tfjs('tfjs', 'tfmlops serve, defaults (`node --import tsx src/server.ts`)', {}),
  tfjs('tfjs-bundle', 'tfmlops serve, defaults, built (`node dist/server.cjs`)', {}, { entry: 'bundle' }),
  // V8 trading speed for memory (smaller young generation, earlier full collections): the memory-constrained option.
  tfjs(
    'tfjs-bundle-small',
    'tfmlops serve, built, `node --optimize-for-size dist/server.cjs`',
    {},
    { entry: 'bundle', nodeArgs: ['--optimize-for-size'] },
  ),
  tfjs('tfjs-no-batching', 'tfmlops serve, MAX_BATCH=1 (no micro-batching)', { MAX_BATCH: '1' }),
  tfjs('tfjs-2t', 'tfmlops serve, WASM_THREADS=2', { WASM_THREADS: '2' }),
  // Two processes sharing the port (node:cluster), the counterpart of `uvicorn --workers 2` below.
  tfjs('tfjs-2w', 'tfmlops serve, SERVE_WORKERS=2 (node:cluster, like uvicorn --workers 2)', {
    SERVE_WORKERS: '2',
  }),
  tfjs(
    'tfjs-oip',
    'tfmlops serve, defaults, OIP `/v2/models/<name>/infer`, UINT8 pixels',
    {},
    { request: 'oip' },
  ),
  tfjs('tfjs-drift-off', 'tfmlops serve, DRIFT_MONITOR=false', { DRIFT_MONITOR: 'false' }),
  // glibc gives every thread that allocates its own malloc arena; libvips' and libuv's threads then hold memory
  // the process never returns. Two arenas is the usual cap for Node services that use sharp.
  tfjs('tfjs-arena2', 'tfmlops serve, MALLOC_ARENA_MAX=2', { MALLOC_ARENA_MAX: '2' }),
  tfjs('tfjs-log', 'tfmlops serve, PREDICTION_LOG_URI=<local dir>, sample rate 1', (scratch) => ({
    PREDICTION_LOG_URI: scratch,
    PREDICTION_LOG_SAMPLE_RATE: '1',
  })),
  fastapi(1),
  fastapi(2),
];

/** `pnpm serve` (pnpm and a shell in front of server.ts): only its cold start is measured. */
export function pnpmServe(port: number, modelUri: string) {
  return {
    command: 'pnpm',
    args: ['serve'],
    env: { PORT: String(port), HOST: '127.0.0.1', MODEL_URI: modelUri },
  };
}
