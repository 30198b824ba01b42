import { readFileSync } from 'node:fs';
import { ConfigError, closestKey, describeValue } from '@tfmlops/core';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import {
  BETA_DISTRIBUTIONS,
  BOUNDED_DISTRIBUTIONS,
  NORMAL_DISTRIBUTIONS,
  type ParameterSpec,
  QUANTIZED_BOUNDED_DISTRIBUTIONS,
  QUANTIZED_NORMAL_DISTRIBUTIONS,
} from './distributions.ts';

// The schema follows W&B's own (wandb/sweeps src/sweeps/config/schema.json) key for key, so a file that `wandb sweep`
// accepts parses here and a key W&B does not know is an error here too.

/** Parameter names: W&B's pattern, which allows dots, so `train.learningRate` names an experiment-config path. */
export const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export const SWEEP_METHODS = ['grid', 'random', 'bayes', 'custom'] as const;
export type SweepMethod = (typeof SWEEP_METHODS)[number];

const metricSchema = z.strictObject({
  name: z.string().min(1),
  goal: z.enum(['minimize', 'maximize']).default('minimize'),
  target: z.number().optional(),
  impute: z.enum(['latest', 'best', 'worst']).default('worst'),
  impute_while_running: z.enum(['latest', 'best', 'worst', 'false']).default('false'),
});
export type SweepMetric = z.output<typeof metricSchema>;

const hyperbandSchema = z
  .strictObject({
    type: z.literal('hyperband'),
    min_iter: z.number().int().min(1).optional(),
    max_iter: z.number().int().optional(),
    s: z.number().optional(),
    eta: z.number().gt(1).default(3),
    strict: z.boolean().default(true),
  })
  .superRefine((value, context) => {
    if (value.min_iter === undefined && (value.max_iter === undefined || value.s === undefined)) {
      context.addIssue({
        code: 'custom',
        message: 'hyperband needs min_iter, or max_iter together with s',
        input: value,
      });
    }
  });
export type HyperbandConfig = z.output<typeof hyperbandSchema>;

const schedulerSchema = z.strictObject({
  engine: z.enum(['optuna', 'ax', 'wandb']),
  source: z.string().optional(),
  optimizer: z.string().optional(),
  search_space: z.string().optional(),
});

const sweepFileSchema = z.strictObject({
  apiVersion: z.string().optional(),
  kind: z.literal('sweep').optional(),
  controller: z.looseObject({ type: z.enum(['local', 'cloud']).default('cloud') }).optional(),
  description: z.string().optional(),
  program: z.string().optional(),
  job: z.string().optional(),
  image_uri: z.string().optional(),
  entity: z.string().optional(),
  project: z.string().optional(),
  name: z.string().optional(),
  method: z.enum(SWEEP_METHODS),
  command: z.array(z.union([z.string(), z.number(), z.boolean()])).optional(),
  run_cap: z.number().int().positive().optional(),
  metric: metricSchema.optional(),
  metrics: z.array(metricSchema).min(2).optional(),
  scheduler: schedulerSchema.optional(),
  early_terminate: hyperbandSchema.optional(),
  parameters: z.record(z.string(), z.unknown()),
});

/** A parameter of the file, flattened: `path` is its nesting (`['optimizer', 'lr']` for a nested block). */
export interface FileParameter {
  /** Dotted name: the key itself, or nested block keys joined with dots. */
  name: string;
  /** Keys from the top of `parameters` down: one segment unless the file nests `parameters:` blocks. */
  path: string[];
  spec: ParameterSpec;
}

export interface SweepFile {
  method: SweepMethod;
  metric: SweepMetric | undefined;
  earlyTerminate: HyperbandConfig | undefined;
  runCap: number | undefined;
  /** The `command` list as written (macros unexpanded); W&B's default when absent. */
  command: Array<string | number | boolean> | undefined;
  program: string | undefined;
  name: string | undefined;
  /** Parameters sorted by name, as W&B orders them. */
  parameters: FileParameter[];
  /** The file's mapping as parsed (integers as numbers), for copying into a sweep directory. */
  raw: Record<string, unknown>;
}

interface Problem {
  path: PropertyKey[];
  message: string;
}

/**
 * Reads a sweep YAML file and validates it against W&B's sweep schema. Integers and floats are told apart as YAML
 * wrote them (`min: 1` and `max: 10` is W&B's `int_uniform`, `min: 1.0` its `uniform`). Every problem is listed in one
 * ConfigError naming the key.
 */
export function loadSweepFile(file: string): SweepFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(`sweep file not found: ${file}`, {
      hint: 'pass --config configs/sweeps/<name>.yaml',
      cause,
    });
  }
  const document = parseDocument(text, { intAsBigInt: true, prettyErrors: true });
  const firstError = document.errors[0];
  if (firstError) {
    const where = firstError.linePos?.[0];
    throw new ConfigError(
      `${file}${where ? `:${where.line}:${where.col}` : ''}: invalid YAML: ${firstError.message.split('\n')[0]}`,
      { hint: 'fix the YAML syntax at that line' },
    );
  }
  const value: unknown = document.toJS();
  return parseSweepConfig(inferBoundedDistributions(value), file);
}

/**
 * Validates an in-memory sweep configuration (what `wandb.sweep(config)` takes). Without a YAML source, an integral
 * number counts as an integer when inferring `int_uniform`.
 */
export function parseSweepConfig(input: unknown, origin = 'sweep config'): SweepFile {
  const value = toNumbers(input);
  if (!isMapping(value)) {
    throw new ConfigError(`${origin}: expected a mapping of sweep keys at the top level`, {
      hint: 'a sweep file is a mapping such as `method: random` with `parameters:`',
    });
  }
  const problems: Problem[] = [];
  const result = sweepFileSchema.safeParse(value, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(...describeIssue(issue, value));
  }
  const parameters: FileParameter[] = [];
  if (isMapping(value.parameters)) {
    if (Object.keys(value.parameters).length === 0) {
      problems.push({ path: ['parameters'], message: 'at least one parameter is needed' });
    }
    collectParameters(value.parameters, [], parameters, problems);
  }
  if (problems.length > 0) throw sweepError(origin, problems);
  const data = result.data!;
  parameters.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    method: data.method,
    metric: data.metric,
    earlyTerminate: data.early_terminate,
    runCap: data.run_cap,
    command: data.command,
    program: data.program,
    name: data.name,
    parameters,
    raw: value,
  };
}

export function sweepError(origin: string, problems: readonly Problem[]): ConfigError {
  const lines = problems.map(
    (p) => `  ${origin}: ${p.path.length > 0 ? p.path.join('.') : '(top level)'}: ${p.message}`,
  );
  return new ConfigError(`invalid sweep file:\n${lines.join('\n')}`, {
    hint: "fix the keys listed above; the format is W&B's sweep configuration (docs.wandb.ai/models/sweeps/sweep-config-keys)",
  });
}

const TOP_LEVEL_KEYS = Object.keys(sweepFileSchema.shape).sort();

function describeIssue(issue: z.core.$ZodIssue, root: Record<string, unknown>): Problem[] {
  if (issue.code === 'unrecognized_keys') {
    const known = issue.path.length === 0 ? TOP_LEVEL_KEYS : knownKeysFor(issue.path, root);
    return issue.keys.map((key) => {
      const suggestion = known ? closestKey(key, known) : undefined;
      return {
        path: [...issue.path, key],
        message: `unknown key${suggestion ? ` (did you mean '${suggestion}'?)` : ''}${known ? `; known keys: ${known.join(', ')}` : ''}`,
      };
    });
  }
  const input = 'input' in issue ? issue.input : undefined;
  const found = input === undefined ? 'nothing' : describeValue(input);
  if (issue.code === 'invalid_value') {
    return [
      {
        path: issue.path,
        message: `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, found ${found}`,
      },
    ];
  }
  if (issue.code === 'invalid_type') {
    return [
      {
        path: issue.path,
        message:
          input === undefined
            ? `missing required value (expected ${issue.expected})`
            : `expected ${issue.expected}, found ${found}`,
      },
    ];
  }
  return [{ path: issue.path, message: `${issue.message}, found ${found}` }];
}

function knownKeysFor(path: readonly PropertyKey[], _root: Record<string, unknown>): string[] | undefined {
  const section = path[0];
  if (section === 'metric' || section === 'metrics') return Object.keys(metricSchema.shape).sort();
  if (section === 'early_terminate') return ['eta', 'max_iter', 'min_iter', 's', 'strict', 'type'];
  if (section === 'scheduler') return Object.keys(schedulerSchema.shape).sort();
  return undefined;
}

// ---- parameters -------------------------------------------------------------------------------------------------

const finite = z.number().refine(Number.isFinite, 'expected a finite number');
const positiveQ = finite.refine((q) => q > 0, 'q must be greater than 0').default(1);

const constantSchema = z.strictObject({ value: z.unknown(), distribution: z.literal('constant').optional() });
const categoricalSchema = z.strictObject({
  values: z.array(z.unknown()).min(1),
  distribution: z.literal('categorical').optional(),
});
const categoricalWithProbabilitiesSchema = z
  .strictObject({
    values: z.array(z.unknown()).min(1),
    probabilities: z.array(z.number().min(0)).min(1),
    distribution: z.enum(['categorical', 'categorical_w_probabilities']).optional(),
  })
  .superRefine((value, context) => {
    if (value.values.length !== value.probabilities.length) {
      context.addIssue({
        code: 'custom',
        path: ['probabilities'],
        message: `${value.probabilities.length} probabilities for ${value.values.length} values: one per value`,
        input: value.probabilities,
      });
    } else if (Math.abs(value.probabilities.reduce((a, b) => a + b, 0) - 1) > 1e-8) {
      context.addIssue({
        code: 'custom',
        path: ['probabilities'],
        message: 'probabilities must sum to 1',
        input: value.probabilities,
      });
    }
  });
const boundsSchema = (distribution: string, integer: boolean, positiveMin: boolean, inferred = false) =>
  z
    .strictObject({
      distribution: inferred ? z.literal(distribution).optional() : z.literal(distribution),
      min: integer
        ? z.number().int()
        : positiveMin
          ? finite.refine((m) => m > 0, 'min must be greater than 0')
          : finite,
      max: integer ? z.number().int() : finite,
      ...(distribution.startsWith('q_') ? { q: positiveQ } : {}),
    })
    .superRefine((value, context) => {
      if (value.min >= value.max) {
        context.addIssue({
          code: 'custom',
          path: ['min'],
          message: `min ${value.min} is not less than max ${value.max}`,
          input: value.min,
        });
      }
    });
const normalSchema = (distribution: string) =>
  z.strictObject({
    distribution: z.literal(distribution),
    mu: finite.default(0),
    sigma: finite.refine((s) => s >= 0, 'sigma must be at least 0').default(1),
    ...(distribution.startsWith('q_') ? { q: positiveQ } : {}),
  });
const betaSchema = (distribution: string) =>
  z.strictObject({
    distribution: z.literal(distribution),
    a: z.number().min(0).default(1),
    b: z.number().min(0).default(1),
    ...(distribution.startsWith('q_') ? { q: positiveQ } : {}),
  });

const DISTRIBUTION_NAMES = [
  'constant',
  'categorical',
  'categorical_w_probabilities',
  ...BOUNDED_DISTRIBUTIONS,
  ...QUANTIZED_BOUNDED_DISTRIBUTIONS,
  ...NORMAL_DISTRIBUTIONS,
  ...QUANTIZED_NORMAL_DISTRIBUTIONS,
  ...BETA_DISTRIBUTIONS,
];

function schemaForParameter(raw: Record<string, unknown>): z.ZodType | string {
  const distribution = raw.distribution;
  if (distribution === undefined) {
    if ('value' in raw) return constantSchema;
    if ('values' in raw)
      return 'probabilities' in raw ? categoricalWithProbabilitiesSchema : categoricalSchema;
    if ('min' in raw || 'max' in raw) {
      return Number.isInteger(raw.min) && Number.isInteger(raw.max)
        ? boundsSchema('int_uniform', true, false, true)
        : boundsSchema('uniform', false, false, true);
    }
    return 'expected one of value, values, min and max, a distribution, or a nested parameters block';
  }
  if (typeof distribution !== 'string' || !DISTRIBUTION_NAMES.includes(distribution)) {
    return `distribution: expected one of ${DISTRIBUTION_NAMES.join(', ')}, found ${describeValue(distribution)}`;
  }
  if (distribution === 'constant') return constantSchema;
  if (distribution === 'categorical')
    return 'probabilities' in raw ? categoricalWithProbabilitiesSchema : categoricalSchema;
  if (distribution === 'categorical_w_probabilities') return categoricalWithProbabilitiesSchema;
  if (distribution === 'int_uniform') return boundsSchema(distribution, true, false);
  if (
    (BOUNDED_DISTRIBUTIONS as readonly string[]).includes(distribution) ||
    distribution.startsWith('q_log_uniform') ||
    distribution === 'q_uniform'
  ) {
    return boundsSchema(distribution, false, distribution.endsWith('_values'));
  }
  if (distribution.startsWith('q_normal') || distribution.endsWith('normal'))
    return normalSchema(distribution);
  return betaSchema(distribution);
}

function collectParameters(
  block: Record<string, unknown>,
  prefix: string[],
  out: FileParameter[],
  problems: Problem[],
): void {
  for (const [key, raw] of Object.entries(block)) {
    const path = [...prefix, key];
    const where = ['parameters', ...prefix.flatMap((p) => [p, 'parameters']), key];
    if (!PARAMETER_NAME.test(key)) {
      problems.push({
        path: where,
        message: 'a parameter name starts with a letter or _ and holds letters, digits, _, . or -',
      });
      continue;
    }
    if (!isMapping(raw)) {
      problems.push({
        path: where,
        message: `expected a mapping (value, values, min/max or distribution), found ${describeValue(raw)}`,
      });
      continue;
    }
    if ('parameters' in raw) {
      const extra = Object.keys(raw).filter((k) => k !== 'parameters');
      if (extra.length > 0 || !isMapping(raw.parameters) || Object.keys(raw.parameters).length === 0) {
        problems.push({
          path: where,
          message: 'a nested block holds only `parameters:` with at least one parameter inside',
        });
        continue;
      }
      collectParameters(raw.parameters, path, out, problems);
      continue;
    }
    const schema = schemaForParameter(raw);
    if (typeof schema === 'string') {
      problems.push({ path: where, message: schema });
      continue;
    }
    const parsed = schema.safeParse(raw, { reportInput: true });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        for (const problem of describeIssue(issue, raw))
          problems.push({ ...problem, path: [...where, ...problem.path] });
      }
      continue;
    }
    out.push({ name: path.join('.'), path, spec: normalizeSpec(parsed.data as Record<string, unknown>) });
  }
}

function normalizeSpec(data: Record<string, unknown>): ParameterSpec {
  if ('value' in data && data.distribution === undefined)
    return { distribution: 'constant', value: data.value };
  if ('values' in data) {
    const probabilities = data.probabilities as number[] | undefined;
    return {
      distribution: 'categorical',
      values: data.values as unknown[],
      ...(probabilities ? { probabilities } : {}),
    };
  }
  if (data.distribution === undefined) {
    // Only bounds are left: int_uniform or uniform, as schemaForParameter chose.
    return {
      distribution: Number.isInteger(data.min) && Number.isInteger(data.max) ? 'int_uniform' : 'uniform',
      min: data.min as number,
      max: data.max as number,
    };
  }
  return data as ParameterSpec;
}

// ---- YAML numbers -----------------------------------------------------------------------------------------------

/**
 * W&B infers `int_uniform` when both bounds are integers *as written*; JavaScript loses that once `1.0` becomes 1, so
 * the choice is made on the YAML tree, where integers are still BigInts.
 */
function inferBoundedDistributions(value: unknown): unknown {
  if (!isMapping(value) || !isMapping(value.parameters)) return value;
  const visit = (block: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(
      Object.entries(block).map(([key, raw]) => {
        if (!isMapping(raw)) return [key, raw];
        if (isMapping(raw.parameters)) return [key, { ...raw, parameters: visit(raw.parameters) }];
        if (
          raw.distribution === undefined &&
          !('value' in raw) &&
          !('values' in raw) &&
          ('min' in raw || 'max' in raw)
        ) {
          const integers = typeof raw.min === 'bigint' && typeof raw.max === 'bigint';
          return [key, { ...raw, distribution: integers ? 'int_uniform' : 'uniform' }];
        }
        return [key, raw];
      }),
    );
  return { ...value, parameters: visit(value.parameters) };
}

/** BigInt integers from the YAML reader become numbers (exact below 2^53, which covers every config value). */
function toNumbers(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(toNumbers);
  if (isMapping(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toNumbers(v)]));
  return value;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
