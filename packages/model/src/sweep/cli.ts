/**
 * `pnpm sweep --config configs/sweeps/exp1-lr.yaml [--parallel N] [--count N] [--seed N] [--output sweeps]`
 * `pnpm sweep --resume sweeps/exp1-lr/<id>`
 */
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, extname, join } from 'node:path';
import { ConfigError, createLogger, createStorage, parseExperimentArgs, runCli } from '@tfmlops/core';
import { createRedrawer, renderTable } from './live-table.ts';
import { formatValue } from './results.ts';
import { runSweep, type SweepEvent } from './run-sweep.ts';
import { loadSweepFile } from './sweep-file.ts';
import { overrideText, planSweep } from './sweep-plan.ts';
import { readSweepDir, SWEEP_COPY_FILE, type SweepState } from './sweep-state.ts';
import { writeResults } from './write-results.ts';

await runCli(async () => {
  const args = parseExperimentArgs(process.argv.slice(2), {
    parallel: { type: 'string' },
    count: { type: 'string' },
    seed: { type: 'string' },
    output: { type: 'string' },
    resume: { type: 'string' },
  });
  const usage =
    'usage: pnpm sweep --config configs/sweeps/<name>.yaml [--parallel N] [--count N] [--seed N] | pnpm sweep --resume sweeps/<name>/<id>';
  if (args.overrides.length > 0 || args.positionals.length > 0) {
    throw new ConfigError(`unexpected arguments: ${[...args.positionals, ...args.overrides].join(' ')}`, {
      hint: `${usage}; parameters belong in the sweep file`,
    });
  }
  const env = process.env;
  const storage = createStorage({ gcs: { apiEndpoint: env.STORAGE_EMULATOR_HOST } });
  const resumeDir = stringFlag(args.flags.resume);
  let sweepPath: string;
  let state: SweepState | undefined;
  if (resumeDir) {
    if (args.configFile) throw new ConfigError('--resume takes the sweep directory alone', { hint: usage });
    ({ state, sweepFile: sweepPath } = readSweepDir(resumeDir));
  } else {
    if (!args.configFile) throw new ConfigError('missing --config <sweep file>', { hint: usage });
    sweepPath = resolveSweepPath(args.configFile);
  }
  const sweep = loadSweepFile(sweepPath);
  // The experiment schema pulls in TF.js and the data package: loaded only once the sweep file itself is valid, so a
  // bad file is refused in a moment.
  const [{ loadSweepExperiment }, { defaultParallel }, { renderChartPng }] = await Promise.all([
    import('./experiment.ts'),
    import('./parallelism.ts'),
    import('@tfmlops/data'),
  ]);
  const loadExperiment = (file: string, overrides: readonly string[]) =>
    loadSweepExperiment(file, overrides, env);
  const plan = planSweep(sweep, sweepPath, {
    loadExperiment,
    count: positiveInt(args.flags.count, 'count') ?? state?.trialCount,
    env,
  });
  const constants = sweep.parameters.filter((p) => p.spec.distribution === 'constant');
  const experiment = loadSweepExperiment(
    plan.experimentFile,
    constants.map((p) => overrideText(p.name, (p.spec as { value: unknown }).value)),
    env,
  );
  const cores = availableParallelism();
  const parallel = positiveInt(args.flags.parallel, 'parallel') ?? defaultParallel(experiment.runtime, cores);

  let dir: string;
  if (state && resumeDir) {
    dir = resumeDir;
    state.trialCount = plan.trialCount;
  } else {
    const name = basename(sweepPath, extname(sweepPath));
    const id = randomBytes(6)
      .toString('base64url')
      .toLowerCase()
      .replace(/[^a-z0-9]/g, 'x')
      .slice(0, 8);
    dir = join(stringFlag(args.flags.output) ?? 'sweeps', name, id);
    const now = new Date().toISOString();
    state = {
      formatVersion: 1,
      id,
      name,
      method: plan.method,
      seed: positiveInt(args.flags.seed, 'seed', true) ?? randomInt(2 ** 31),
      experimentFile: plan.experimentFile,
      trialCount: plan.trialCount,
      status: 'running',
      createdAt: now,
      updatedAt: now,
      trials: [],
    };
    await storage.write(join(dir, SWEEP_COPY_FILE), readFileSync(sweepPath));
  }

  const logger = createLogger({ level: experiment.logging.level });
  const searched = sweep.parameters.filter((p) => p.spec.distribution !== 'constant').map((p) => p.name);
  process.stdout.write(
    `sweep ${state.name}/${state.id}: ${plan.method} search, ${plan.trialCount} trials of ${plan.experimentFile}, ${parallel} at a time (${cores} cores)\n` +
      `directory: ${dir}  (resume with: pnpm sweep --resume ${dir})\n`,
  );
  const tty = process.stdout.isTTY === true;
  const redraw = createRedrawer((text) => process.stdout.write(text));
  const draw = () =>
    redraw(
      renderTable(
        state!,
        searched,
        sweep.metric,
        process.stdout.columns ?? 120,
        Math.max(6, (process.stdout.rows ?? 40) - 3),
      ),
    );
  const onEvent = (event: SweepEvent) => {
    if (tty) {
      draw();
      return;
    }
    const t = event.trial;
    const params = searched.map((p) => `${p}=${formatValue(t.params[p])}`).join(' ');
    if (event.type === 'started')
      logger.info({ trial: t.id, params: t.params, log: t.log }, `trial ${t.id} started: ${params}`);
    else if (event.type === 'stopping')
      logger.info({ trial: t.id, reason: event.reason }, `trial ${t.id} stopping (${event.reason})`);
    else if (event.type === 'ended') {
      logger.info(
        { trial: t.id, status: t.status, metric: t.metric, exitCode: t.exitCode, log: t.log },
        `trial ${t.id} ${t.status}${t.metric !== null ? `: ${sweep.metric?.name} ${formatValue(t.metric)}` : ''}${t.error ? ` (${t.error})` : ''}`,
      );
    } else
      logger.debug({ trial: t.id, epochs: t.epochs, metric: t.metric }, `trial ${t.id} epoch ${t.epochs}`);
  };

  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts += 1;
    if (interrupts === 1) {
      process.stderr.write(
        '\nstopping every trial cleanly (each writes a checkpoint); the sweep can be resumed\n',
      );
      controller.abort();
    } else
      process.stderr.write(
        'still waiting for trials to write their checkpoints (they are killed after 30 s)\n',
      );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const timer = tty ? setInterval(draw, 1000) : undefined;
  let final: SweepState;
  try {
    final = await runSweep({
      sweep,
      plan,
      state,
      dir,
      parallel,
      storage,
      loadExperiment,
      env,
      cwd: process.cwd(),
      signal: controller.signal,
      onEvent,
    });
  } finally {
    if (timer) clearInterval(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (tty) draw();
  const results = await writeResults({
    state: final,
    parameters: sweep.parameters,
    metric: sweep.metric,
    dir,
    storage,
    renderChart: (spec) => renderChartPng(spec),
  });
  process.stdout.write(`\nresults: ${results.markdown}\n         ${results.csv}\n`);
  for (const plot of results.plots) process.stdout.write(`plot:    ${plot}\n`);
  if (results.best) {
    process.stdout.write(
      `best:    trial ${results.best.id}, ${sweep.metric?.name} ${formatValue(results.best.metric)}` +
        ` (${searched.map((p) => `${p}=${formatValue(results.best!.params[p])}`).join(', ')})\n` +
        `bundle:  ${results.best.modelUri ?? '(none recorded)'}\n`,
    );
  }
  const failed = final.trials.filter((t) => t.status === 'failed');
  for (const t of failed) process.stdout.write(`failed:  trial ${t.id}: ${t.error ?? ''}\n`);
  if (final.status === 'interrupted') {
    process.stdout.write(`interrupted: resume with  pnpm sweep --resume ${dir}\n`);
    return 130;
  }
  return final.trials.length > 0 && failed.length === final.trials.length ? 1 : 0;
});

function stringFlag(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function positiveInt(
  value: string | boolean | undefined,
  flag: string,
  allowZero = false,
): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(number) || number < (allowZero ? 0 : 1)) {
    throw new ConfigError(
      `--${flag} ${String(value)}: expected a ${allowZero ? 'non-negative' : 'positive'} integer`,
      { hint: `e.g. --${flag} 2` },
    );
  }
  return number;
}

/** A bare name is looked up in configs/sweeps/, as experiment names are in configs/. */
function resolveSweepPath(file: string): string {
  if (existsSync(file)) return file;
  for (const candidate of [join('configs', 'sweeps', file), join('configs', 'sweeps', `${file}.yaml`)]) {
    if (existsSync(candidate)) return candidate;
  }
  return file;
}
