/**
 * SERVE_WORKERS > 1: the primary process of a node:cluster that runs that many copies of the service, as uvicorn's
 * `--workers` does. Each worker is the ordinary server (its own model, micro-batcher, metrics and drift monitor) and
 * they share the listening port (the primary accepts connections and hands them out round-robin). The primary loads
 * no model and no TF.js: it forks, supervises and passes signals on.
 *
 * What this buys: a second core for inference (TF.js runs on each process's main thread). What it costs: each worker
 * holds its own model and wasm heap (memory grows with the count), and per-process state stays per process: GET
 * /metrics, GET /monitoring/drift and the drift window describe the one worker that answered (each sees 1/N of the
 * traffic). POST /admin/reload reloads the worker that answers it, which then has the primary tell the others.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '@tfmlops/core';

export interface ClusterOptions {
  workers: number;
  /** After SIGTERM, workers get this long to drain before they are killed. */
  shutdownTimeoutMs: number;
  logger: Logger;
}

/** Worker -> primary: the model is loaded and warm, and the worker listens. */
export const WORKER_READY = 'tfmlops:worker-ready';
/** Worker -> primary: an admin reload succeeded here; primary -> other workers: reload too. */
export const RELOAD_PEERS = 'tfmlops:reload-peers';

/**
 * Forks the workers and supervises them: a worker that dies after it was ready is replaced; one that dies before it
 * ever was (a bundle that does not load, a port in use) stops the whole service with exit code 1, as a single
 * process would. SIGTERM and SIGINT are passed on to every worker, and the primary exits once they all have: 0 when
 * every one drained and exited 0, 1 otherwise (or when they are still running SHUTDOWN_TIMEOUT_MS + 1 s later).
 */
export function runClusterPrimary(options: ClusterOptions): void {
  const { logger } = options;
  const ready = new Set<number>();
  const alive = new Map<number, Worker>();
  let stopping = false;
  let exitCode = 0;

  const stop = (signal: NodeJS.Signals, code = 0) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    logger.info({ signal, workers: alive.size }, 'stopping the workers');
    if (alive.size === 0) process.exit(exitCode);
    for (const worker of alive.values()) worker.process.kill('SIGTERM');
    setTimeout(() => {
      logger.error({ workers: alive.size }, 'workers still running at the deadline; killing them');
      for (const worker of alive.values()) worker.process.kill('SIGKILL');
      process.exit(1);
    }, options.shutdownTimeoutMs + 1000).unref();
  };

  const fork = (): void => {
    const worker = cluster.fork();
    alive.set(worker.id, worker);
    worker.on('message', (message: unknown) => {
      if (message === WORKER_READY) {
        ready.add(worker.id);
        logger.info({ worker: worker.id, pid: worker.process.pid }, 'worker ready');
        if (ready.size === options.workers) logger.info({ workers: options.workers }, 'all workers ready');
      } else if (message === RELOAD_PEERS && !stopping) {
        for (const peer of alive.values()) if (peer !== worker && ready.has(peer.id)) peer.send(RELOAD_PEERS);
      }
    });
  };

  cluster.on('exit', (worker, code, signal) => {
    const wasReady = ready.delete(worker.id);
    alive.delete(worker.id);
    if (stopping) {
      if (code !== 0) exitCode = 1;
      logger.info({ worker: worker.id, code, signal }, 'worker exited');
      if (alive.size === 0) process.exit(exitCode);
      return;
    }
    if (!wasReady) {
      logger.fatal({ worker: worker.id, code, signal }, 'a worker failed to start; stopping the service');
      stop('SIGTERM', 1);
      return;
    }
    logger.error({ worker: worker.id, code, signal }, 'a worker died; starting another');
    fork();
  });

  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  logger.info({ workers: options.workers }, 'starting workers');
  for (let i = 0; i < options.workers; i += 1) fork();
}
