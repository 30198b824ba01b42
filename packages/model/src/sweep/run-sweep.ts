import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Storage } from '@tfmlops/core';
import { buildAgentCommand, runArgsFor } from './agent-command.ts';
import { hyperbandToStop } from './hyperband.ts';
import { metricExtremum, nextTrialParams, type TrialObservation, type TrialParams } from './search.ts';
import type { SweepFile } from './sweep-file.ts';
import { type ExperimentLoader, overrideText, type SweepPlan } from './sweep-plan.ts';
import { createStateWriter, type SweepState, type TrialRecord } from './sweep-state.ts';
import {
  findRunDir,
  hasCheckpoint,
  metricHistory,
  metricsSize,
  readRunFiles,
  summaryValue,
} from './trial-files.ts';
import {
  type StartTrialOptions,
  startTrialProcess,
  type TrialExit,
  type TrialProcess,
} from './trial-process.ts';

export type SweepEvent =
  | { type: 'started'; trial: TrialRecord; argv: string[] }
  | { type: 'epoch'; trial: TrialRecord }
  | { type: 'ended'; trial: TrialRecord }
  | { type: 'stopping'; trial: TrialRecord; reason: 'hyperband' | 'user' };

export interface RunSweepOptions {
  sweep: SweepFile;
  plan: SweepPlan;
  /** The new or resumed state (its trials are kept; running or interrupted ones are resumed first). */
  state: SweepState;
  dir: string;
  parallel: number;
  storage: Storage;
  loadExperiment: ExperimentLoader;
  /** The sweep's own environment: trials inherit it. */
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Ctrl-C: stop every trial cleanly (SIGTERM, checkpoint) and return with the sweep resumable. */
  signal?: AbortSignal;
  onEvent?: (event: SweepEvent, state: SweepState) => void;
  /** How often metrics.jsonl files are checked for new epochs. */
  pollMs?: number;
  graceMs?: number;
  launch?: (options: StartTrialOptions) => TrialProcess;
}

interface Active {
  record: TrialRecord;
  process: TrialProcess;
  exit: TrialExit | undefined;
  size: number;
  stoppedBy: 'hyperband' | 'user' | null;
}

/**
 * Runs a sweep's trials as child processes (`parallel` at once), each the command line the W&B agent would build plus
 * the keys that keep its run and bundle under `<dir>/trials/<id>/`. Watches every running trial's metrics.jsonl to
 * apply hyperband; records each trial (finished, failed with its log, stopped) in state.json as it goes, so a crash or
 * Ctrl-C loses nothing and `--resume` continues. Returns the final state.
 */
export async function runSweep(options: RunSweepOptions): Promise<SweepState> {
  const { sweep, plan, state, dir } = options;
  const launch = options.launch ?? startTrialProcess;
  const persist = createStateWriter(options.storage, dir);
  const pollMs = options.pollMs ?? 1000;
  const histories = new Map<string, number[]>();
  const summaries = new Map<string, number | undefined>();
  const active = new Map<string, Active>();
  const metric = sweep.metric;
  const emit = (event: SweepEvent) => options.onEvent?.(event, state);

  // Earlier trials: their histories feed Bayesian search and hyperband; unfinished ones run again first.
  const resumeQueue: TrialRecord[] = [];
  for (const record of state.trials) {
    refreshFromFiles(record);
    if (record.status === 'running' || record.status === 'interrupted') resumeQueue.push(record);
  }
  state.status = 'running';
  let exhausted = false;
  let targetReached = state.trials.some(reachesTarget);
  // Trials started together on a fresh clone would each build the same missing dataset version and race to publish
  // it. `pnpm train` prepares its data before it creates the run directory, so the first trial runs alone until its
  // run directory exists (or it ends); then the others start and find the data ready.
  let primed = state.trials.some((t) => t.runDir !== null);
  let aborting = false;
  await persist(state);

  function refreshFromFiles(record: TrialRecord): void {
    const runDir = findRunDir(join(dir, 'trials', record.id, 'runs'));
    if (!runDir) return;
    record.runDir = runDir;
    const files = readRunFiles(runDir);
    record.epochs = files.epochs.length;
    if (!metric) return;
    const history = metricHistory(files, metric.name);
    const summary = summaryValue(files, metric.name);
    histories.set(record.id, history);
    summaries.set(record.id, summary);
    record.metric = metricExtremum({ history, summary }, metric.goal) ?? null;
    const test = files.summary?.test_accuracy;
    record.testAccuracy = typeof test === 'number' ? test : null;
    const model = files.summary?.model_uri;
    record.modelUri = typeof model === 'string' ? model : null;
  }

  function observations(): TrialObservation[] {
    return state.trials.map((record) => ({
      params: record.params,
      state:
        record.status === 'finished'
          ? 'finished'
          : record.status === 'failed'
            ? 'failed'
            : record.status === 'running'
              ? 'running'
              : 'killed',
      history: histories.get(record.id) ?? [],
      summary: summaries.get(record.id),
    }));
  }

  function reachesTarget(record: TrialRecord): boolean {
    if (!metric || metric.target === undefined || record.status !== 'finished' || record.metric === null)
      return false;
    return metric.goal === 'maximize' ? record.metric >= metric.target : record.metric <= metric.target;
  }

  function newRecord(params: TrialParams): TrialRecord {
    const number = state.trials.length + 1;
    const id = String(number).padStart(3, '0');
    const record: TrialRecord = {
      id,
      runId: `${state.id}-${id}`,
      params,
      status: 'running',
      stoppedBy: null,
      exitCode: null,
      signal: null,
      log: join(dir, 'trials', id, 'train.log'),
      runDir: null,
      metric: null,
      epochs: 0,
      testAccuracy: null,
      modelUri: null,
      error: null,
      startedAt: null,
      endedAt: null,
    };
    state.trials.push(record);
    return record;
  }

  function trialOverrides(record: TrialRecord): string[] {
    const trialDir = join(dir, 'trials', record.id);
    const keys = plan.trialKeys;
    return [
      ...(keys.outputDir ? [`${keys.outputDir}=${join(trialDir, 'runs')}`] : []),
      ...(keys.exportUri ? [`${keys.exportUri}=${join(trialDir, 'bundles')}`] : []),
      ...(plan.skipPictures && keys.pictures ? [`${keys.pictures}=false`] : []),
    ];
  }

  function start(record: TrialRecord, resuming: boolean): void {
    const parameterOverrides = Object.entries(record.params).map(([name, value]) =>
      overrideText(name, value),
    );
    try {
      options.loadExperiment(plan.experimentFile, [...parameterOverrides, ...trialOverrides(record)]);
    } catch (error) {
      record.status = 'failed';
      record.error = `invalid trial config: ${error instanceof Error ? error.message : String(error)}`;
      record.endedAt = new Date().toISOString();
      // The log is where a failed trial's reason is looked up, whatever failed.
      mkdirSync(dirname(record.log), { recursive: true });
      writeFileSync(record.log, `[sweep] not started: ${record.error}\n`);
      emit({ type: 'ended', trial: record });
      return;
    }
    // As the W&B agent: `${envvar:WANDB_SWEEP_ID}` in the command names this sweep; the trial itself is not told it
    // belongs to a W&B sweep (none exists on the server for a local sweep), only its run id.
    const command = buildAgentCommand({
      command: sweep.command,
      program: sweep.program,
      args: runArgsFor(Object.entries(record.params).map(([name, value]) => ({ path: [name], value }))),
      env: { ...options.env, WANDB_SWEEP_ID: state.id },
    });
    // `pnpm train --resume <run-dir>` continues a run from its own config.yaml and refuses --config beside it.
    const resumeFrom = resuming && record.runDir && hasCheckpoint(record.runDir) ? record.runDir : undefined;
    const argv = resumeFrom
      ? [...withoutConfigArgument(command), ...trialOverrides(record), '--resume', resumeFrom]
      : [...command, ...trialOverrides(record)];
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(options.env)) if (value !== undefined) env[key] = value;
    delete env.WANDB_SWEEP_ID;
    env.WANDB_RUN_ID = record.runId;
    env.WANDB_RUN_GROUP = `sweep-${state.name}-${state.id}`;
    record.status = 'running';
    record.stoppedBy = null;
    record.error = null;
    record.startedAt ??= new Date().toISOString();
    record.endedAt = null;
    const process = launch({ argv, env, cwd: options.cwd, logFile: record.log, graceMs: options.graceMs });
    const entry: Active = { record, process, exit: undefined, size: 0, stoppedBy: null };
    active.set(record.id, entry);
    process.done.then((exit) => {
      entry.exit = exit;
    });
    emit({ type: 'started', trial: record, argv });
  }

  function fillSlots(): void {
    while (!aborting && active.size < options.parallel && (primed || active.size === 0)) {
      const resumed = resumeQueue.shift();
      if (resumed) {
        start(resumed, true);
        continue;
      }
      if (exhausted || targetReached || state.trials.length >= plan.trialCount) return;
      const params = nextTrialParams(plan.method, {
        parameters: sweep.parameters,
        trials: observations(),
        seed: state.seed,
        metric,
      });
      if (!params) {
        exhausted = true;
        return;
      }
      start(newRecord(params), false);
    }
  }

  function poll(): void {
    let grew = false;
    for (const entry of active.values()) {
      const record = entry.record;
      record.runDir ??= findRunDir(join(dir, 'trials', record.id, 'runs')) ?? null;
      if (record.runDir) primed = true;
      const size = metricsSize(record.runDir ?? undefined);
      if (size === entry.size) continue;
      entry.size = size;
      refreshFromFiles(record);
      grew = true;
      emit({ type: 'epoch', trial: record });
    }
    if (!grew || !sweep.earlyTerminate || !metric) return;
    const records = state.trials;
    const decision = hyperbandToStop(
      records.map((r) => ({
        running: r.status === 'running' && !active.get(r.id)?.stoppedBy,
        history: histories.get(r.id) ?? [],
      })),
      sweep.earlyTerminate,
      metric.goal,
    );
    for (const index of decision.stop) {
      const entry = active.get(records[index]!.id);
      if (!entry || entry.stoppedBy) continue;
      entry.stoppedBy = 'hyperband';
      emit({ type: 'stopping', trial: entry.record, reason: 'hyperband' });
      entry.process.stop();
    }
  }

  function finish(entry: Active): void {
    const { record, exit } = entry;
    active.delete(record.id);
    primed = true;
    refreshFromFiles(record);
    record.exitCode = exit?.code ?? null;
    record.signal = exit?.signal ?? null;
    record.endedAt = new Date().toISOString();
    record.stoppedBy = entry.stoppedBy;
    if (entry.stoppedBy === 'hyperband') record.status = 'stopped';
    else if (entry.stoppedBy === 'user') record.status = 'interrupted';
    else if (exit?.spawnError) {
      record.status = 'failed';
      record.error = `could not start: ${exit.spawnError}`;
    } else if (exit?.code === 0) record.status = 'finished';
    else {
      record.status = 'failed';
      record.error = `exited with ${exit?.signal ? `signal ${exit.signal}` : `code ${exit?.code}`}; see ${record.log}`;
    }
    if (reachesTarget(record)) targetReached = true;
    emit({ type: 'ended', trial: record });
  }

  const abort = () => {
    if (aborting) return;
    aborting = true;
    for (const entry of active.values()) {
      if (entry.stoppedBy) continue;
      entry.stoppedBy = 'user';
      emit({ type: 'stopping', trial: entry.record, reason: 'user' });
      entry.process.stop();
    }
  };
  if (options.signal?.aborted) abort();
  options.signal?.addEventListener('abort', abort, { once: true });
  const abortRequested = new Promise<void>((resolve) => {
    if (options.signal?.aborted) resolve();
    options.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  try {
    for (;;) {
      fillSlots();
      await persist(state);
      if (active.size === 0) break;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        ...[...active.values()].map((entry) => entry.process.done),
        new Promise((resolve) => {
          timer = setTimeout(resolve, pollMs);
        }),
        // Once stopping, only the trials' ends (or the poll) wake the loop.
        ...(aborting ? [] : [abortRequested]),
      ]);
      clearTimeout(timer);
      // Let the done handlers above record their exits before looking.
      await new Promise((resolve) => setImmediate(resolve));
      poll();
      for (const entry of [...active.values()]) if (entry.exit) finish(entry);
    }
  } finally {
    options.signal?.removeEventListener('abort', abort);
  }
  // Anything still queued for resumption stays interrupted for the next --resume.
  for (const record of resumeQueue) record.status = 'interrupted';
  state.status = aborting ? 'interrupted' : 'finished';
  await persist(state);
  return state;
}

/** An argv without its `--config FILE` (`-c FILE`, `--config=FILE`). */
export function withoutConfigArgument(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--config' || arg === '-c') i += 1;
    else if (!arg.startsWith('--config=')) out.push(arg);
  }
  return out;
}
