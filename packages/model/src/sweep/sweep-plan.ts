import { ConfigError } from '@tfmlops/core';
import { buildAgentCommand } from './agent-command.ts';
import { isLocallySupported, probeValues } from './distributions.ts';
import { pythonStr } from './python-format.ts';
import { gridSize } from './search.ts';
import { type FileParameter, type SweepFile, type SweepMethod, sweepError } from './sweep-file.ts';
import { EPOCH_METRICS, SUMMARY_METRICS } from './trial-files.ts';

/**
 * Loads the experiment a trial would train, with `key.path=value` overrides, the way `pnpm train` does; throws its
 * ConfigError for an unknown key or a bad value. Injected so the sweep checks parameters against the real schema.
 */
export type ExperimentLoader = (file: string, overrides: readonly string[]) => unknown;

/** Config keys the local runner sets on every trial (the experiment schema's names for them). */
export const TRIAL_KEYS = {
  outputDir: 'train.outputDir',
  exportUri: 'export.uri',
  pictures: 'train.evaluation.pictures',
} as const;

export interface SweepPlan {
  method: Exclude<SweepMethod, 'custom'>;
  /** `--config` of the command: the experiment every trial trains. */
  experimentFile: string;
  /** Trials to run in all: --count, else run_cap, else the grid's size. */
  trialCount: number;
  /** Config keys of TRIAL_KEYS that the experiment schema has (the others are not set). */
  trialKeys: Partial<Record<keyof typeof TRIAL_KEYS, string>>;
  /** Whether trials get `<pictures key>=false` (not when a parameter or the command sets that key). */
  skipPictures: boolean;
}

export interface PlanOptions {
  loadExperiment: ExperimentLoader;
  /** `--count`: overrides run_cap. */
  count?: number;
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * Checks a parsed sweep file for the local runner and `pnpm train`, before anything runs: a method it can run, a
 * metric the trials write, a command that passes `key=value` overrides and names the experiment, parameters that are
 * keys of that experiment's config with values its schema accepts (a grid's every value; a distribution's ends and
 * quantiles), and a finite number of trials. All problems come in one ConfigError naming the keys.
 */
export function planSweep(sweep: SweepFile, origin: string, options: PlanOptions): SweepPlan {
  const problems: Array<{ path: string[]; message: string }> = [];
  const add = (path: string[], message: string) => problems.push({ path, message });
  if (sweep.method === 'custom')
    add(
      ['method'],
      'custom (an external W&B Launch scheduler) runs only under W&B; use grid, random or bayes',
    );
  const metricNames: readonly string[] = [...EPOCH_METRICS, ...SUMMARY_METRICS];
  if (sweep.metric && !metricNames.includes(sweep.metric.name)) {
    add(
      ['metric', 'name'],
      `trials write no metric '${sweep.metric.name}'; known: ${metricNames.join(', ')}`,
    );
  }
  if (sweep.method === 'bayes' && !sweep.metric)
    add(['metric'], 'Bayesian search needs a metric to model (e.g. {name: val_accuracy, goal: maximize})');
  if (sweep.earlyTerminate) {
    if (!sweep.metric) add(['metric'], 'early_terminate needs a metric to compare trials on');
    else if (!(EPOCH_METRICS as readonly string[]).includes(sweep.metric.name)) {
      add(
        ['early_terminate'],
        `hyperband compares trials every epoch, but ${sweep.metric.name} is known only at the end; use one of ${EPOCH_METRICS.join(', ')}`,
      );
    }
  }
  const command = sweep.command;
  const expanded = command
    ? buildAgentCommand({ command, program: sweep.program, args: {}, env: options.env })
    : [];
  const experimentFile = configArgument(expanded);
  if (!command) {
    add(
      ['command'],
      'missing: trials run `pnpm train`, e.g. [${env}, pnpm, train, --config, configs/exp1.yaml, ${args_no_hyphens}]',
    );
  } else {
    if (!command.includes('${args_no_hyphens}')) {
      add(
        ['command'],
        'needs ${args_no_hyphens}: pnpm train reads parameters as key.path=value (${args} would pass --key=value)',
      );
    }
    if (!experimentFile)
      add(['command'], 'needs --config <experiment file>: the experiment every trial trains');
  }
  for (const parameter of sweep.parameters) checkShape(parameter, sweep.method, add);

  let trialKeys: SweepPlan['trialKeys'] = {};
  if (experimentFile && problems.length === 0) {
    try {
      options.loadExperiment(experimentFile, []);
    } catch (error) {
      throw new ConfigError(`${origin}: command: the experiment ${experimentFile} does not load`, {
        cause: error,
        hint: 'fix the experiment file, or point --config at another one',
      });
    }
    for (const parameter of sweep.parameters)
      checkValues(parameter, experimentFile, options.loadExperiment, add);
    // key=value items written into the command are overrides too: an unknown key there would fail every trial.
    const literal = expanded.filter((item) => /^[A-Za-z_][\w.-]*=/.test(item));
    if (literal.length > 0) {
      try {
        options.loadExperiment(experimentFile, literal);
      } catch (error) {
        add(['command'], `${literal.join(' ')}: refused by the experiment config: ${errorDetail(error)}`);
      }
    }
    trialKeys = Object.fromEntries(
      Object.entries(TRIAL_KEYS).filter(([, key]) =>
        isConfigKey(options.loadExperiment, experimentFile, key),
      ),
    );
    if (!trialKeys.outputDir)
      add(
        ['command'],
        `the experiment has no ${TRIAL_KEYS.outputDir}, so trials cannot write under the sweep directory`,
      );
  }

  const grid = gridSize(sweep.parameters.filter((p) => isLocallySupported(p.spec)));
  const trialCount = options.count ?? sweep.runCap ?? (sweep.method === 'grid' ? grid : undefined);
  if (trialCount === undefined) {
    add(
      ['run_cap'],
      `${sweep.method} search never ends by itself: set run_cap in the file or pass --count N`,
    );
  }
  if (problems.length > 0) throw sweepError(origin, problems);
  const picturesKey = trialKeys.pictures;
  const skipPictures =
    picturesKey !== undefined &&
    !sweep.parameters.some((p) => p.name === picturesKey) &&
    !expanded.some((item) => item.startsWith(`${picturesKey}=`));
  return {
    method: sweep.method as SweepPlan['method'],
    experimentFile: experimentFile!,
    trialCount: trialCount!,
    trialKeys,
    skipPictures,
  };
}

/** The value after `--config` / `-c` (or `--config=...`) in an argv. */
export function configArgument(argv: readonly string[]): string | undefined {
  for (const [i, arg] of argv.entries()) {
    if ((arg === '--config' || arg === '-c') && argv[i + 1] !== undefined) return argv[i + 1];
    if (arg.startsWith('--config=')) return arg.slice('--config='.length);
  }
  return undefined;
}

/** The override text a trial gets for a parameter: exactly what `${args_no_hyphens}` would say. */
export function overrideText(name: string, value: unknown): string {
  return `${name}=${pythonStr(value)}`;
}

function checkShape(
  parameter: FileParameter,
  method: SweepMethod,
  add: (path: string[], message: string) => void,
): void {
  const where = ['parameters', ...parameter.path];
  if (parameter.path.length > 1) {
    add(
      where,
      `nested blocks reach pnpm train as one object (${parameter.path[0]}={...}) that would replace the whole section; name the key with dots instead: ${parameter.name}`,
    );
  }
  if (!isLocallySupported(parameter.spec))
    add(
      where,
      `${parameter.spec.distribution} is sampled only by W&B's controller; use uniform, normal or a values list locally`,
    );
  if (method === 'grid' && gridSize([parameter]) === undefined) {
    add(
      where,
      `grid search takes values, value, int_uniform or q_uniform, not ${parameter.spec.distribution}`,
    );
  }
}

function checkValues(
  parameter: FileParameter,
  experimentFile: string,
  load: ExperimentLoader,
  add: (path: string[], message: string) => void,
): void {
  if (parameter.path.length > 1 || !isLocallySupported(parameter.spec)) return;
  for (const value of probeValues(parameter.spec)) {
    try {
      load(experimentFile, [overrideText(parameter.name, value)]);
    } catch (error) {
      const detail = errorDetail(error);
      const unknown = detail.includes('unknown key');
      add(
        ['parameters', parameter.name],
        unknown
          ? `not a key of the experiment config (${experimentFile}): ${detail}`
          : `the value ${pythonStr(value)} is refused by the experiment config: ${detail}`,
      );
      return;
    }
  }
}

function errorDetail(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return (
    error.message
      .split('\n')
      .slice(1)
      .map((l) => l.trim())
      .join('; ') || error.message
  );
}

/** Whether the experiment schema has a key: an override of it fails for its value, if at all, never as unknown. */
function isConfigKey(load: ExperimentLoader, file: string, key: string): boolean {
  try {
    load(file, [`${key}=__probe__`]);
    return true;
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    const segments = key.split('.');
    // An unknown section is reported at the section (`export: unknown key`), an unknown leaf at the leaf.
    return !segments.some((_, i) => message.includes(`${segments.slice(0, i + 1).join('.')}: unknown key`));
  }
}
