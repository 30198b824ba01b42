import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..', '..');
export const SERVER_SCRIPT = join(ROOT, 'packages', 'serve', 'src', 'server.ts');
/** What `pnpm --filter @tfmlops/serve build` writes (packages/serve/scripts/build.ts). */
export const SERVER_BUNDLE = join(ROOT, 'packages', 'serve', 'dist', 'server.cjs');

export interface ServerProcess {
  child: ChildProcess;
  /** JSON log lines from stdout, parsed, in order. */
  logs: Array<Record<string, unknown>>;
  stderr(): string;
  /** Resolves with the port once the server logs that it listens. */
  port: Promise<number>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Polls GET /readyz until 200. */
  waitReady(timeoutMs?: number): Promise<void>;
  kill(): void;
}

/**
 * Runs the service in a child process on a free port of 127.0.0.1, with `env` added to a minimal environment:
 * packages/serve/src/server.ts under node with the tsx loader (as the API image does), the built bundle, or a
 * bundle built elsewhere (`{ bundle: path }`).
 */
export function startServerProcess(
  env: Record<string, string>,
  entry: 'tsx' | 'bundle' | { bundle: string } = 'tsx',
): ServerProcess {
  const args =
    entry === 'tsx'
      ? ['--import', 'tsx', SERVER_SCRIPT]
      : [entry === 'bundle' ? SERVER_BUNDLE : entry.bundle];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      BACKEND: 'wasm',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  let partial = '';
  let resolvePort: (port: number) => void = () => {};
  let rejectPort: (error: Error) => void = () => {};
  const port = new Promise<number>((resolve, reject) => {
    resolvePort = resolve;
    rejectPort = reject;
  });
  port.catch(() => {});
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines.filter(Boolean)) {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        const match = /listening at https?:\/\/[^:]+:(\d+)/i.exec(String(entry.message ?? ''));
        if (match) resolvePort(Number(match[1]));
      } catch {
        logs.push({ unparsed: line });
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      rejectPort(new Error(`server exited (${code ?? signal}) before listening; stderr: ${stderr}`));
      resolve({ code, signal });
    });
  });
  return {
    child,
    logs,
    stderr: () => stderr,
    port,
    exited,
    async waitReady(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      const listening = await port;
      for (;;) {
        const status = await fetch(`http://127.0.0.1:${listening}/readyz`).then(
          (response) => response.status,
          () => 0,
        );
        if (status === 200) return;
        if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${stderr}`);
        if (Date.now() > deadline) throw new Error('server not ready in time');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
