import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  createLogger,
  createStorage,
  type Environment,
  isGcsUri,
  joinUri,
  parseExperimentArgs,
  parseOverride,
  type Storage,
} from '@tfmlops/core';
import { type LoadSourceFn, loadSource } from '@tfmlops/data';
import { type MachineProbes, realMachineProbes } from '@tfmlops/runtime';
import { readGitInfo } from './bundle/provenance.ts';
import type { ExperimentConfig } from './config.ts';
import { loadExperimentConfig } from './load-experiment.ts';
import { missingRequirements } from './requirements.ts';
import { resolveWandb } from './tracking/config.ts';
import { RunTracker } from './tracking/run-tracker.ts';
import { type TrainDependencies, train } from './train.ts';
import { SIGNAL_EXIT_CODES, type StopSignal, TrainingInterruptedError } from './training/errors.ts';
import { createProgressReporter } from './training/progress.ts';

export interface CommandContext {
  env: Environment;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Default: local disk and gs:// (honouring STORAGE_EMULATOR_HOST). Tests pass one that fails on purpose. */
  storage?: Storage;
  probes?: MachineProbes;
  loadSource?: LoadSourceFn;
  /** Process signals to honour; default SIGINT and SIGTERM of this process. */
  signals?: NodeJS.EventEmitter;
}

const USAGE = 'usage: pnpm train --config configs/exp1.yaml [--resume runs/exp1/<run>] [key.path=value ...]';

/**
 * `pnpm train`: loads the experiment (or, with `--resume <run-dir>`, the run's own config.yaml plus any overrides),
 * trains, and prints the outcome. SIGINT/SIGTERM stop training at the next step with a checkpoint and end with 130/143;
 * a second signal ends the process at once. Returns the exit code; errors propagate to `runCli` (2 config, 1 other).
 */
export async function runTrainCommand(argv: readonly string[], context: CommandContext): Promise<number> {
  const args = parseExperimentArgs(argv, { resume: { type: 'string' } });
  const resume = typeof args.flags.resume === 'string' ? args.flags.resume : undefined;
  if (args.positionals.length > 0) {
    throw new ConfigError(`unexpected argument '${args.positionals[0]}'`, { hint: USAGE });
  }
  if (resume && args.configFile) {
    throw new ConfigError('give either --config (a new run) or --resume (an existing run), not both', {
      hint: "--resume reads the run's own config.yaml; add key.path=value overrides to change it (e.g. train.epochs=10)",
    });
  }
  if (resume) checkResumeOverrides(args.overrides);
  const storage =
    context.storage ?? createStorage({ gcs: { apiEndpoint: context.env.STORAGE_EMULATOR_HOST } });
  const file = resume ? await runConfigFile(resume, storage) : args.configFile;
  if (!file) throw new ConfigError('no experiment given', { hint: USAGE });
  const { config } = loadExperimentConfig({ file, overrides: args.overrides, env: context.env });
  const logger = createLogger({ level: config.logging.level, destination: context.stdout });
  // Config problems of every experiment involved surface now (exit 2), before anything trains.
  const required = resume
    ? []
    : await missingRequirements(config, file, { storage, env: context.env, logger });
  const wandbFor = (experiment: ExperimentConfig) => resolveWandb(experiment.tracking, context.env);
  for (const experiment of [...required.map((r) => r.config), config]) wandbFor(experiment);

  const controller = new AbortController();
  const signals = context.signals ?? process;
  const onSignal = (signal: StopSignal) => {
    if (controller.signal.aborted) {
      context.stderr.write(`\n${signal} again: exiting now without saving\n`);
      process.exit(SIGNAL_EXIT_CODES[signal]);
    }
    context.stderr.write(`\n${signal}: saving a checkpoint and stopping (${signal} again to exit at once)\n`);
    controller.abort(signal);
  };
  const listeners = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
    const listener = () => onSignal(signal);
    signals.on(signal, listener);
    return () => signals.off(signal, listener);
  });
  try {
    // Inside an image there is no .git: the build passes the commit in.
    const git = await readGitInfo(process.cwd(), { commit: context.env.GIT_COMMIT ?? null });
    const deps = (experiment: ExperimentConfig): TrainDependencies => ({
      storage,
      logger,
      probes: context.probes ?? realMachineProbes(context.env),
      loadSource: context.loadSource ?? loadSource,
      stop: controller.signal,
      progress: createProgressReporter({ stream: context.stderr }),
      tracker: new RunTracker({ storage, logger, wandb: wandbFor(experiment) }),
      git,
    });
    for (const { config: base, file: baseFile, latest } of required) {
      logger.info(
        { experiment: base.name, config: baseFile, missing: latest },
        `training ${base.name} first: ${config.name} requires its model bundle`,
      );
      const trained = await train(base, deps(base));
      context.stdout.write(
        `\n${base.name}: test accuracy ${(trained.testAccuracy * 100).toFixed(2)}%, bundle ${trained.modelUri}\n`,
      );
    }
    const result = await train(config, deps(config), { resume });
    const accuracy = `${(result.testAccuracy * 100).toFixed(2)}%`;
    const speed = result.imagesPerSecond === null ? '' : `, ${Math.round(result.imagesPerSecond)} images/s`;
    context.stdout.write(
      `\n${config.name}: ${config.model.architecture} on ${result.backend}, test accuracy ${accuracy}${speed}` +
        `${result.stoppedEarly ? ' (stopped early)' : ''}\nrun:    ${result.runUri}\nbundle: ${result.modelUri}` +
        `\nlatest: ${result.latestUri}\n`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof TrainingInterruptedError)) throw error;
    context.stderr.write(`${error.message}\n  hint: ${error.hint ?? ''}\n`);
    return error.exitCode;
  } finally {
    for (const remove of listeners) remove();
  }
}

/**
 * What a resumed run may change: how long it runs and how it stops, what it reports, where it exports, which backend
 * and threads compute it. Not what it trains: the data, the model, the seed, the batch size or the optimisation
 * would continue the checkpoint's position under other rules (a batch size changes what `stepInEpoch` means), and the
 * run would no longer be the experiment its config.yaml records.
 */
export const RESUMABLE_KEYS = [
  'train.epochs',
  'train.earlyStopping',
  'train.checkpoint',
  'train.evaluation',
  'runtime',
  'tracking',
  'export',
  'logging',
] as const;

function checkResumeOverrides(overrides: readonly string[]): void {
  for (const text of overrides) {
    const key = parseOverride(text).path.join('.');
    if (RESUMABLE_KEYS.some((allowed) => key === allowed || key.startsWith(`${allowed}.`))) continue;
    throw new ConfigError(
      `--resume with ${text}: ${key} cannot change in a resumed run (its checkpoints were made under the run's own value)`,
      {
        hint: `a resumed run may change ${RESUMABLE_KEYS.join(', ')}; for anything else start a new run: pnpm train --config <experiment> ${text}`,
      },
    );
  }
}

/** The config.yaml of a run directory, as a local file (a gs:// run's is copied to a temp file first). */
async function runConfigFile(runDir: string, storage: Storage): Promise<string> {
  const uri = joinUri(runDir, 'config.yaml');
  if (!isGcsUri(runDir)) {
    if (!existsSync(uri)) {
      throw new ConfigError(`--resume ${runDir}: no config.yaml there, so it is not a run directory`, {
        hint: 'pass a directory `pnpm train` created, e.g. runs/exp1/20261130-101500-k3x9a0qz',
      });
    }
    return uri;
  }
  const local = join(mkdtempSync(join(tmpdir(), 'tfmlops-resume-')), 'config.yaml');
  writeFileSync(local, await storage.read(uri));
  return local;
}
