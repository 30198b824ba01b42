import { pythonJsonDumps, pythonStr } from './python-format.ts';

/** W&B's command when a sweep file has none. */
export const DEFAULT_SWEEP_COMMAND = ['${env}', '${interpreter}', '${program}', '${args}'];

const ENVVAR_MACRO = /\$\{envvar:([A-Z0-9_]*)\}/g;

/** One trial's hyperparameters as the W&B agent receives them: top-level name -> value (nested blocks as objects). */
export type RunArgs = Record<string, unknown>;

export interface AgentCommandInput {
  /** The sweep file's `command`, macros unexpanded (W&B's default when undefined). */
  command: ReadonlyArray<string | number | boolean> | undefined;
  /** The sweep file's `program` (what `${program}` expands to). */
  program: string | undefined;
  args: RunArgs;
  /** The environment `${envvar:NAME}` reads. */
  env: Readonly<Record<string, string | undefined>>;
  /** Where `${args_json_file}` is written (the agent's `wandb/sweep-<id>/config-<run>.json`). */
  argsJsonFile?: string;
  /** The agent drops `${env}` on Windows; everywhere else it is `/usr/bin/env`. */
  platform?: NodeJS.Platform;
}

/**
 * Builds the argv the W&B agent (`wandb agent`, wandb/wandb_agent.py) runs for one trial: `${envvar:NAME}` inside any
 * item becomes that variable's value (or NAME itself when unset, as W&B does); then an item that is exactly a macro
 * expands to its list: `${env}` (/usr/bin/env), `${interpreter}` (python), `${program}`, `${args}` (--k=v),
 * `${args_no_hyphens}` (k=v), `${args_no_boolean_flags}`, `${args_no_equals}` (--k v), `${args_json}`,
 * `${args_json_file}`; an unknown macro expands to nothing. Values are rendered by Python's `str()`.
 */
export function buildAgentCommand(input: AgentCommandInput): string[] {
  const vars = commandVariables(input);
  const argv: string[] = [];
  for (const item of input.command ?? DEFAULT_SWEEP_COMMAND) {
    const text = expandEnvVars(pythonStr(item), input.env);
    if (text.startsWith('${') && text.endsWith('}')) argv.push(...(vars[text.slice(2, -1)] ?? []));
    else argv.push(text);
  }
  return argv;
}

/** `${envvar:NAME}` anywhere in an item, replaced as the agent does (an unset variable leaves its bare name). */
export function expandEnvVars(text: string, env: Readonly<Record<string, string | undefined>>): string {
  return text.replace(ENVVAR_MACRO, (_, name: string) => env[name] ?? name);
}

/** The lists each macro expands to (wandb/sdk/launch/sweeps/utils.py `create_sweep_command_args`). */
export function commandVariables(input: AgentCommandInput): Record<string, string[]> {
  const args: string[] = [];
  const noHyphens: string[] = [];
  const noBooleanFlags: string[] = [];
  const noEquals: string[] = [];
  for (const [name, value] of Object.entries(input.args)) {
    const flag = `${name}=${pythonStr(value)}`;
    args.push(`--${flag}`);
    noHyphens.push(flag);
    noEquals.push(`--${name}`, pythonStr(value));
    if (typeof value === 'boolean') {
      if (value) noBooleanFlags.push(`--${name}`);
    } else noBooleanFlags.push(`--${flag}`);
  }
  const vars: Record<string, string[]> = {
    args,
    args_no_hyphens: noHyphens,
    args_no_boolean_flags: noBooleanFlags,
    args_no_equals: noEquals,
    args_json: [pythonJsonDumps(input.args)],
    interpreter: ['python'],
    program: input.program === undefined ? [] : [input.program],
  };
  if (input.argsJsonFile !== undefined) vars.args_json_file = [input.argsJsonFile];
  if ((input.platform ?? process.platform) !== 'win32') vars.env = ['/usr/bin/env'];
  return vars;
}

/**
 * The run config the agent gets for a trial: parameters by their top-level key, sorted as W&B's controller sorts them;
 * a nested `parameters:` block becomes one object-valued argument (which is why sweeps of `pnpm train` name nested
 * keys with dots instead).
 */
export function runArgsFor(parameters: ReadonlyArray<{ path: readonly string[]; value: unknown }>): RunArgs {
  const args: Record<string, unknown> = {};
  const sorted = [...parameters].sort((a, b) => compare(a.path.join('\u0000'), b.path.join('\u0000')));
  for (const { path, value } of sorted) {
    let cursor = args;
    path.forEach((segment, index) => {
      if (index === path.length - 1) cursor[segment] = value;
      else {
        cursor[segment] ??= {};
        cursor = cursor[segment] as Record<string, unknown>;
      }
    });
  }
  return args;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface AgentEnvironmentInput {
  base: Readonly<Record<string, string | undefined>>;
  sweepId: string;
  runId: string;
  /** `WANDB_SWEEP_PARAM_PATH`: the agent writes the trial's parameters there as a wandb config YAML. */
  paramPath: string;
  /** `WANDB_DIR`, which the agent sets to its working directory when unset. */
  dir: string;
}

/** The environment the W&B agent gives a trial: its own plus the sweep id, the run id and the parameter file. */
export function agentEnvironment(input: AgentEnvironmentInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(input.base)) if (value !== undefined) env[key] = value;
  env.WANDB_DIR ??= input.dir;
  env.WANDB_SWEEP_ID = input.sweepId;
  env.WANDB_RUN_ID = input.runId;
  env.WANDB_SWEEP_PARAM_PATH = input.paramPath;
  return env;
}
