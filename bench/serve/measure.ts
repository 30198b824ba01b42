import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import { ROOT } from './bundle.ts';

export interface LoadOptions {
  connections: number;
  /** Seconds of measured load (ignored when `amount` is set). */
  durationSeconds: number;
  warmupSeconds: number;
  /** Send exactly this many requests instead of running for a duration (the soak). */
  amount?: number;
  body: Buffer;
  headers: Record<string, string>;
}

/** One turn of one server: its cold start and, for load-tested servers, the figures under load. */
export interface ServeSample {
  coldStartMs: number;
  load: LoadFigures | null;
  /** 1-minute load average when the turn started. */
  loadAverage: number;
}

export interface LoadFigures {
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  requests: number;
  /** Connection errors and timeouts. */
  errors: number;
  non2xx: number;
  /** Peak resident memory of the server's process tree during the load, MB. */
  rssPeakMb: number;
  /** Live TF.js tensors before and after the load (tfjs engines). */
  tensorsBefore: number | null;
  tensorsAfter: number | null;
}

export interface StartCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Starts a server process in its own process group; resolves once GET /readyz answers 200, with the time taken. */
export async function startServer(
  start: StartCommand,
  port: number,
  timeoutMs = 120_000,
): Promise<{ child: ChildProcess; coldStartMs: number }> {
  const started = performance.now();
  const child = spawn(start.command, start.args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...start.env },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  for (;;) {
    const status = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return { child, coldStartMs: performance.now() - started };
    if (child.exitCode !== null || performance.now() - started > timeoutMs) {
      await stopServer(child);
      throw new Error(`${start.command} ${start.args.join(' ')} did not become ready: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** SIGTERM to the server's process group, SIGKILL if it is still there after 15 s. */
export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(-(child.pid as number), 'SIGTERM');
  const timer = setTimeout(() => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  }, 15_000);
  await exited;
  clearTimeout(timer);
}

/** Resident memory of a process and all its descendants, MB (Linux /proc). */
export function treeRssMb(pid: number): number {
  let kb = 0;
  const visit = (id: number) => {
    try {
      const status = readFileSync(`/proc/${id}/status`, 'utf8');
      kb += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      for (const task of readdirSync(`/proc/${id}/task`)) {
        const children = readFileSync(`/proc/${id}/task/${task}/children`, 'utf8').trim();
        for (const child of children ? children.split(/\s+/) : []) visit(Number(child));
      }
    } catch {
      // the process ended meanwhile
    }
  };
  visit(pid);
  return kb / 1024;
}

async function tensorCount(port: number): Promise<number | null> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then(
    (response) => (response.ok ? response.text() : ''),
    () => '',
  );
  const match = /^tfjs_tensors (\d+)$/m.exec(text);
  return match ? Number(match[1]) : null;
}

function load(port: number, options: LoadOptions, seconds: number, amount?: number) {
  return autocannon({
    url: `http://127.0.0.1:${port}/predict`,
    method: 'POST',
    connections: options.connections,
    headers: options.headers,
    body: options.body,
    ...(amount ? { amount } : { duration: seconds }),
  });
}

/**
 * One measurement of one engine in a fresh process: cold start, a warm-up, then `connections` clients posting the
 * image for `durationSeconds` (or `amount` requests), sampling the process tree's RSS meanwhile.
 */
export async function measureRun(
  engine: string,
  start: StartCommand,
  port: number,
  options: LoadOptions,
): Promise<ServeSample> {
  const loadAverage = loadavg()[0]!;
  const { child, coldStartMs } = await startServer(start, port);
  try {
    const check = await fetch(`http://127.0.0.1:${port}/predict`, {
      method: 'POST',
      headers: options.headers,
      body: options.body,
    });
    const answer = (await check.json()) as { predictions?: unknown[] };
    if (check.status !== 200 || !Array.isArray(answer.predictions)) {
      throw new Error(`${engine}: POST /predict answered ${check.status}: ${JSON.stringify(answer)}`);
    }
    if (options.warmupSeconds > 0) await load(port, options, options.warmupSeconds);
    const tensorsBefore = await tensorCount(port);
    let rssPeakMb = treeRssMb(child.pid as number);
    const sampler = setInterval(() => {
      rssPeakMb = Math.max(rssPeakMb, treeRssMb(child.pid as number));
    }, 250);
    const result = await load(port, options, options.durationSeconds, options.amount);
    clearInterval(sampler);
    rssPeakMb = Math.max(rssPeakMb, treeRssMb(child.pid as number));
    const tensorsAfter = await tensorCount(port);
    return {
      coldStartMs,
      loadAverage,
      load: {
        requestsPerSecond: result.requests.total / result.duration,
        latencyP50Ms: result.latency.p50,
        latencyP99Ms: result.latency.p99,
        requests: result.requests.total,
        errors: result.errors + result.timeouts,
        non2xx: result.non2xx,
        rssPeakMb,
        tensorsBefore,
        tensorsAfter,
      },
    };
  } finally {
    await stopServer(child);
  }
}

/** Only the cold start (process start to /readyz 200) of a command. */
export async function measureColdStart(start: StartCommand, port: number): Promise<ServeSample> {
  const loadAverage = loadavg()[0]!;
  const { child, coldStartMs } = await startServer(start, port);
  await stopServer(child);
  return { coldStartMs, load: null, loadAverage };
}
