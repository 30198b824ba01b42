import { join } from 'node:path';
import { DEBIAN_PYTHON } from '../lib/python.ts';
import { ROOT } from './bundle.ts';

/** How to start one server configuration on a port. */
export interface ServeEngine {
  id: string;
  label: string;
  kind: 'tfjs' | 'peer';
  command(port: number, modelUri: string): { command: string; args: string[]; env: Record<string, string> };
}

const SERVER = join(ROOT, 'packages', 'serve', 'src', 'server.ts');
const BUNDLE = join(ROOT, 'packages', 'serve', 'dist', 'server.cjs');

/**
 * Our server with its defaults plus `env` (LOG_LEVEL info: one JSON line per request). `tsx`: as the API image runs
 * it today, node with the tsx loader on server.ts; `bundle`: node on the build of scripts/build.ts.
 */
function tfjs(
  id: string,
  label: string,
  env: Record<string, string>,
  entry: 'tsx' | 'bundle' = 'tsx',
): ServeEngine {
  return {
    id,
    label,
    kind: 'tfjs',
    command: (port, modelUri) => ({
      command: process.execPath,
      args: entry === 'tsx' ? ['--import', 'tsx', SERVER] : [BUNDLE],
      env: { PORT: String(port), HOST: '127.0.0.1', MODEL_URI: modelUri, ...env },
    }),
  };
}

function fastapi(workers: number): ServeEngine {
  return {
    id: `fastapi-${workers}w`,
    label: `FastAPI + uvicorn, ${workers} worker${workers > 1 ? 's' : ''}, PyTorch 1 thread each`,
    kind: 'peer',
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

/** Every configuration the benchmark can run; `default` is what `pnpm serve` runs with nothing set. */
export const ENGINES: ServeEngine[] = [
  tfjs('tfjs', 'tfmlops serve, defaults (`node --import tsx src/server.ts`)', {}),
  tfjs('tfjs-bundle', 'tfmlops serve, defaults, built (`node dist/server.cjs`)', {}, 'bundle'),
  tfjs('tfjs-no-batching', 'tfmlops serve, MAX_BATCH=1 (no micro-batching)', { MAX_BATCH: '1' }),
  tfjs('tfjs-2t', 'tfmlops serve, WASM_THREADS=2', { WASM_THREADS: '2' }),
  fastapi(1),
  fastapi(2),
];

/** `pnpm serve` (pnpm + tsx in front of server.ts): only its cold start is measured. */
export function pnpmServe(port: number, modelUri: string) {
  return {
    command: 'pnpm',
    args: ['serve'],
    env: { PORT: String(port), HOST: '127.0.0.1', MODEL_URI: modelUri },
  };
}
