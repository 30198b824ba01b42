import { Worker } from 'node:worker_threads';
import type { Logger } from '@tfmlops/core';
import type { WandbSettings } from '../config.ts';
import type {
  EpochRow,
  FinishOptions,
  RunArtifact,
  RunInfo,
  RunStatus,
  RunSummary,
  Tracker,
  TrackingMark,
} from '../types.ts';
import type { FromWandbWorker, ToWandbWorker } from './protocol.ts';

export interface WandbTrackerOptions {
  settings: WandbSettings;
  logger: Logger;
}

type State = 'idle' | 'starting' | 'ready' | 'failed' | 'finished';

const MAX_HTTP_ERRORS_KEPT = 5;

/**
 * The W&B backend. `@wandb/sdk` runs in a worker thread that this class only posts messages to: logging is a
 * message (a copy of the row), never a wait. Start and finish are bounded by the settings' timeouts; any SDK failure
 * (an exception, an HTTP error, a hang) ends the worker, logs one warning and shows as `failed` in the mark that
 * `finish` returns, and training carries on.
 */
export class WandbTracker implements Tracker {
  private worker: Worker | undefined;
  private state: State = 'idle';
  private failure: string | undefined;
  private readonly httpErrors: Array<{ method: string; path: string; status: number }> = [];
  private readonly warnings: string[] = [];
  private readonly sdkOutput: string[] = [];
  private details: Record<string, unknown> = {};
  private summary: RunSummary = {};
  private readonly artifacts: RunArtifact[] = [];
  private step = 0;
  private initTimer: NodeJS.Timeout | undefined;
  private finishedListener: ((message: Extract<FromWandbWorker, { type: 'finished' }>) => void) | undefined;
  private readyWaiters: Array<() => void> = [];

  constructor(private readonly options: WandbTrackerOptions) {}

  async start(run: RunInfo): Promise<void> {
    const { settings } = this.options;
    const id = settings.runId ?? run.runId;
    this.details = {
      project: settings.project,
      ...(settings.entity ? { entity: settings.entity } : {}),
      run_id: id,
      ...(settings.sweepId ? { sweep_id: settings.sweepId } : {}),
    };
    this.state = 'starting';
    try {
      this.worker = spawnWorker();
    } catch (error) {
      this.fail(`could not start the W&B worker: ${errorText(error)}`);
      return;
    }
    const worker = this.worker;
    worker.unref();
    worker.on('message', (message: FromWandbWorker) => this.onMessage(message));
    // An exception the SDK throws from its own event handlers (e.g. a 4xx on UpsertBucket) ends the worker: here.
    worker.on('error', (error) => this.fail(`W&B SDK error: ${errorText(error)}`));
    worker.on('exit', (code) => {
      if (this.state !== 'finished' && this.state !== 'failed')
        this.fail(`the W&B worker exited (code ${code})`);
    });
    for (const stream of [worker.stdout, worker.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => this.keepSdkOutput(chunk));
    }
    this.initTimer = setTimeout(() => {
      if (this.state === 'starting') {
        this.fail(
          `the W&B run did not start within ${settings.initTimeoutMs / 1000} s (${settings.baseUrl})`,
        );
      }
    }, settings.initTimeoutMs);
    this.initTimer.unref();
    this.post({
      type: 'init',
      apiKey: settings.apiKey,
      baseUrl: settings.baseUrl,
      run: {
        id,
        project: settings.project,
        ...(settings.entity ? { entity: settings.entity } : {}),
        name: `${run.experiment}-${run.runId}`,
        config: run.config,
        tags: [...new Set([run.experiment, ...settings.tags])],
        ...(settings.sweepId ? { sweep: settings.sweepId } : {}),
        ...(settings.group ? { group: settings.group } : {}),
      },
    });
    for (const row of run.history ?? []) await this.logEpoch(row);
  }

  async logEpoch(row: EpochRow): Promise<void> {
    if (this.state !== 'starting' && this.state !== 'ready') return;
    this.post({ type: 'log', row: { ...row }, step: this.step });
    this.step += 1;
  }

  async logSummary(summary: RunSummary): Promise<void> {
    this.summary = { ...this.summary, ...summary };
  }

  async logArtifact(artifact: RunArtifact): Promise<void> {
    this.artifacts.push(artifact);
  }

  /** Resolves once the W&B run exists or tracking has failed (tests and `track sync` wait on it; training never). */
  whenSettled(): Promise<void> {
    if (this.state !== 'starting') return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  async finish(status: RunStatus, options: FinishOptions = {}): Promise<TrackingMark> {
    const worker = this.worker;
    if (worker && (this.state === 'starting' || this.state === 'ready')) {
      const timeoutMs = options.timeoutMs ?? this.options.settings.finishTimeoutMs;
      const summary: Record<string, unknown> = { ...this.summary, status };
      for (const artifact of this.artifacts) summary[`artifact/${artifact.name}`] = artifact.uri;
      const done = new Promise<void>((resolve) => {
        this.finishedListener = (message) => {
          if (message.error) this.fail(`finishing the W&B run failed: ${message.error}`);
          resolve();
        };
        this.readyWaiters.push(() => {
          if (this.state === 'failed') resolve();
        });
      });
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      });
      this.post({ type: 'finish', exitCode: options.exitCode ?? (status === 'finished' ? 0 : 1), summary });
      const late = await Promise.race([done.then(() => false), timedOut]);
      clearTimeout(timer);
      // Read again: messages from the worker may have changed the state while this awaited.
      const state = this.state as State;
      if (late && state === 'starting') {
        this.fail(`the W&B run had not started when the training ended (waited ${timeoutMs / 1000} s more)`);
      } else if (late && state !== 'failed') {
        this.fail(`the W&B run did not finish within ${timeoutMs / 1000} s`);
      }
    }
    if (this.state !== 'failed' && this.httpErrors.length > 0) {
      const first = this.httpErrors[0]!;
      this.fail(
        `the W&B server answered HTTP ${first.status} to ${first.method} ${first.path}: some data was lost`,
      );
    }
    clearTimeout(this.initTimer);
    // Marked finished before terminating, so the worker's exit is not taken for a failure.
    if (this.state !== 'failed') this.state = 'finished';
    await this.worker?.terminate();
    this.worker = undefined;
    return this.mark();
  }

  /** This backend's entry for summary.json. */
  mark(): TrackingMark {
    const extra = {
      ...this.details,
      ...(this.httpErrors.length > 0 ? { http_errors: this.httpErrors } : {}),
      ...(this.warnings.length > 0 ? { warnings: this.warnings } : {}),
    };
    if (this.state === 'failed') return { status: 'failed', error: this.failure ?? 'unknown', ...extra };
    return { status: 'ok', ...extra };
  }

  private onMessage(message: FromWandbWorker): void {
    switch (message.type) {
      case 'ready':
        if (this.state !== 'starting') return;
        this.state = 'ready';
        clearTimeout(this.initTimer);
        this.details = {
          ...this.details,
          entity: message.entity,
          project: message.project,
          run_id: message.id,
          url: message.url,
          listeners_removed: message.listenersRemoved,
        };
        this.options.logger.info({ url: message.url }, 'W&B run started');
        this.settle();
        return;
      case 'init-failed':
        this.details = { ...this.details, listeners_removed: message.listenersRemoved };
        this.fail(`the W&B run could not start: ${message.error}`);
        return;
      case 'http-error':
        if (this.httpErrors.length < MAX_HTTP_ERRORS_KEPT) {
          this.httpErrors.push({ method: message.method, path: message.path, status: message.status });
        }
        return;
      case 'warning':
        this.warnings.push(message.message);
        this.options.logger.warn({ warning: message.message }, 'W&B tracking');
        return;
      case 'finished':
        this.finishedListener?.(message);
        return;
    }
  }

  private fail(reason: string): void {
    if (this.state === 'failed' || this.state === 'finished') return;
    this.state = 'failed';
    this.failure = reason;
    clearTimeout(this.initTimer);
    this.options.logger.warn(
      { error: reason, sdk: this.sdkOutput.slice(-3) },
      'W&B tracking failed; training goes on and the run directory keeps everything (`pnpm track sync <run-dir>` uploads it later)',
    );
    void this.worker?.terminate();
    this.settle();
  }

  private settle(): void {
    for (const waiter of this.readyWaiters.splice(0)) waiter();
  }

  private post(message: ToWandbWorker): void {
    try {
      this.worker?.postMessage(message);
    } catch (error) {
      this.fail(`could not hand data to the W&B worker: ${errorText(error)}`);
    }
  }

  private keepSdkOutput(chunk: string): void {
    for (const line of chunk.split('\n')) {
      if (line.trim() === '') continue;
      this.sdkOutput.push(line.slice(0, 300));
      this.options.logger.debug({ sdk: line.slice(0, 300) }, 'W&B SDK output');
    }
    if (this.sdkOutput.length > 50) this.sdkOutput.splice(0, this.sdkOutput.length - 50);
  }
}

/** The worker is plain JavaScript (see wandb-worker.mjs): no loader in the thread, so it starts fast and light. */
function spawnWorker(): Worker {
  // No inherited environment or loader flags: every setting arrives in the init message, and the SDK must not
  // pick up WANDB_* (or a tsx loader) on its own.
  return new Worker(new URL('./wandb-worker.mjs', import.meta.url), {
    env: {},
    execArgv: [],
    stdout: true,
    stderr: true,
  });
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
