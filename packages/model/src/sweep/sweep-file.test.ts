import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, exitCodeFor } from '@tfmlops/core';
import { afterAll, describe, expect, it } from 'vitest';
import { hyperbandBands } from './hyperband.ts';
import { loadSweepFile } from './sweep-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'sweep-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let count = 0;
function load(yaml: string) {
  count += 1;
  const file = join(dir, `sweep-${count}.yaml`);
  writeFileSync(file, yaml);
  return loadSweepFile(file);
}

function failure(yaml: string): ConfigError {
  try {
    load(yaml);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect(exitCodeFor(error)).toBe(2);
    return error as ConfigError;
  }
  throw new Error('expected the sweep file to be refused');
}

// Each example below is one of W&B's documented sweep configurations (docs.wandb.ai/models/sweeps/
// define-sweep-configuration and sweep-config-keys), transcribed as YAML.
describe("W&B's documented sweep examples parse", () => {
  it('the basic structure example: bayes, a metric, bounds and value lists', () => {
    const sweep = load(`
program: train.py
name: sweepdemo
method: bayes
metric:
  goal: minimize
  name: validation_loss
parameters:
  learning_rate:
    min: 0.0001
    max: 0.1
  batch_size:
    values: [16, 32, 64]
  epochs:
    values: [5, 10, 15]
  optimizer:
    values: ["adam", "sgd"]
`);
    expect(sweep.method).toBe('bayes');
    expect(sweep.metric).toEqual({
      name: 'validation_loss',
      goal: 'minimize',
      impute: 'worst',
      impute_while_running: 'false',
    });
    expect(sweep.program).toBe('train.py');
    // Sorted by name, as W&B's controller orders them; float bounds infer `uniform`.
    expect(sweep.parameters).toEqual([
      {
        name: 'batch_size',
        path: ['batch_size'],
        spec: { distribution: 'categorical', values: [16, 32, 64] },
      },
      { name: 'epochs', path: ['epochs'], spec: { distribution: 'categorical', values: [5, 10, 15] } },
      {
        name: 'learning_rate',
        path: ['learning_rate'],
        spec: { distribution: 'uniform', min: 0.0001, max: 0.1 },
      },
      {
        name: 'optimizer',
        path: ['optimizer'],
        spec: { distribution: 'categorical', values: ['adam', 'sgd'] },
      },
    ]);
  });

  it('the nested-parameters example flattens to dotted names', () => {
    const sweep = load(`
program: sweep_nest.py
name: nested_sweep
method: random
metric:
  name: loss
  goal: minimize
parameters:
  optimizer:
    values: ['adam', 'sgd']
  fc_layer_size:
    values: [128, 256, 512]
  dropout:
    values: [0.3, 0.4, 0.5]
  epochs:
    value: 1
  learning_rate:
    distribution: uniform
    min: 0
    max: 0.1
  batch_size:
    distribution: q_log_uniform_values
    q: 8
    min: 32
    max: 256
  nested_parameter:
    parameters:
      nested_param_1:
        values: [a, b]
      nested_param_2:
        value: 3
`);
    expect(sweep.parameters.map((p) => p.name)).toEqual([
      'batch_size',
      'dropout',
      'epochs',
      'fc_layer_size',
      'learning_rate',
      'nested_parameter.nested_param_1',
      'nested_parameter.nested_param_2',
      'optimizer',
    ]);
    const byName = Object.fromEntries(sweep.parameters.map((p) => [p.name, p]));
    expect(byName.batch_size!.spec).toEqual({
      distribution: 'q_log_uniform_values',
      q: 8,
      min: 32,
      max: 256,
    });
    expect(byName.epochs!.spec).toEqual({ distribution: 'constant', value: 1 });
    expect(byName['nested_parameter.nested_param_1']!.path).toEqual(['nested_parameter', 'nested_param_1']);
  });

  it('the distributions of the parameters table, with their defaults filled', () => {
    const sweep = load(`
method: random
parameters:
  a: {distribution: normal, mu: 100, sigma: 10}
  b: {distribution: q_uniform, min: 0, max: 1, q: 0.1}
  c: {distribution: int_uniform, min: 1, max: 10}
  d: {distribution: log_uniform_values, min: 0.00001, max: 0.1}
  e: {values: [1, 2, 3], probabilities: [0.2, 0.3, 0.5]}
  f: {distribution: q_normal, mu: 0}
  g: {distribution: categorical, values: [x, y]}
  h: {distribution: log_uniform, min: -9.2, max: -2.3}
  i: {distribution: inv_log_uniform_values, min: 0.1, max: 10}
  j: {distribution: beta, a: 2}
`);
    const specs = Object.fromEntries(sweep.parameters.map((p) => [p.name, p.spec]));
    expect(specs).toEqual({
      a: { distribution: 'normal', mu: 100, sigma: 10 },
      b: { distribution: 'q_uniform', min: 0, max: 1, q: 0.1 },
      c: { distribution: 'int_uniform', min: 1, max: 10 },
      d: { distribution: 'log_uniform_values', min: 0.00001, max: 0.1 },
      e: { distribution: 'categorical', values: [1, 2, 3], probabilities: [0.2, 0.3, 0.5] },
      f: { distribution: 'q_normal', mu: 0, sigma: 1, q: 1 },
      g: { distribution: 'categorical', values: ['x', 'y'] },
      h: { distribution: 'log_uniform', min: -9.2, max: -2.3 },
      i: { distribution: 'inv_log_uniform_values', min: 0.1, max: 10 },
      j: { distribution: 'beta', a: 2, b: 1 },
    });
  });

  it('integers as written infer int_uniform, a float bound (even 1.0) uniform, as W&B infers them', () => {
    const sweep = load(`
method: random
parameters:
  ints: {min: 1, max: 10}
  floats: {min: 0.0, max: 1.0}
  mixed: {min: 1, max: 2.5}
`);
    const specs = Object.fromEntries(sweep.parameters.map((p) => [p.name, p.spec.distribution]));
    expect(specs).toEqual({ ints: 'int_uniform', floats: 'uniform', mixed: 'uniform' });
  });

  it('the early_terminate examples: min_iter 3 gives brackets 3, 9, 27, 81; max_iter 27 with s 2 gives 9 and 3', () => {
    const upward = load(`
method: bayes
metric: {name: val_loss}
early_terminate:
  type: hyperband
  min_iter: 3
parameters:
  lr: {min: 0.001, max: 0.1}
`);
    expect(upward.earlyTerminate).toEqual({ type: 'hyperband', min_iter: 3, eta: 3, strict: true });
    expect(hyperbandBands(upward.earlyTerminate!).slice(0, 4)).toEqual([3, 9, 27, 81]);
    const downward = load(`
method: bayes
metric: {name: val_loss}
early_terminate:
  type: hyperband
  max_iter: 27
  s: 2
parameters:
  lr: {min: 0.001, max: 0.1}
`);
    expect(hyperbandBands(downward.earlyTerminate!)).toEqual([3, 9]);
  });

  it('the command examples, macros kept as written, and run_cap', () => {
    const sweep = load(`
program: main.py
method: bayes
metric:
  goal: maximize
  name: test/accuracy
run_cap: 20
parameters:
  optimizer.lr:
    values: [0.1, 0.01, 0.001]
command:
  - \${env}
  - python
  - \${program}
  - \${args_no_hyphens}
`);
    expect(sweep.command).toEqual(['${env}', 'python', '${program}', '${args_no_hyphens}']);
    expect(sweep.runCap).toBe(20);
    expect(sweep.parameters[0]!.name).toBe('optimizer.lr');
    expect(sweep.parameters[0]!.path).toEqual(['optimizer.lr']);
  });
});

describe('an invalid sweep file is one ConfigError (exit code 2) naming each key', () => {
  it('an unknown top-level key, with the likely intended one', () => {
    const error = failure('methd: grid\nmethod: grid\nparameters: {a: {values: [1]}}\n');
    expect(error.message).toMatch(/methd: unknown key \(did you mean 'method'\?\)/);
  });

  it('an unknown method and a metric goal W&B does not know', () => {
    const error = failure(
      'method: annealing\nmetric: {name: loss, goal: lowest}\nparameters: {a: {value: 1}}\n',
    );
    expect(error.message).toMatch(
      /method: expected one of "grid", "random", "bayes", "custom", found string "annealing"/,
    );
    expect(error.message).toMatch(/metric\.goal: expected one of "minimize", "maximize"/);
  });

  it('bad parameters: min not below max, an unknown distribution, a typo inside a parameter, a nested block', () => {
    const error = failure(`
method: random
parameters:
  lr: {min: 0.1, max: 0.01}
  batch: {distribution: gaussian, mu: 1}
  epochs: {valeus: [1, 2]}
  model:
    parameters:
      width: {values: [1, 2], probabilities: [0.5]}
`);
    expect(error.message).toMatch(/parameters\.lr\.min: min 0\.1 is not less than max 0\.01/);
    expect(error.message).toMatch(/parameters\.batch: distribution: expected one of constant, categorical/);
    expect(error.message).toMatch(/parameters\.epochs: expected one of value, values, min and max/);
    expect(error.message).toMatch(
      /parameters\.model\.parameters\.width\.probabilities: 1 probabilities for 2 values/,
    );
  });

  it('hyperband without min_iter or max_iter + s, and an unknown key inside early_terminate', () => {
    const error = failure(`
method: random
early_terminate: {type: hyperband, eta: 2, min_iters: 2}
parameters: {a: {values: [1]}}
`);
    expect(error.message).toMatch(/early_terminate\.min_iters: unknown key \(did you mean 'min_iter'\?\)/);
  });

  it('missing parameters, a YAML syntax error, a missing file', () => {
    expect(failure('method: grid\n').message).toMatch(/parameters: missing required value/);
    expect(failure('method: [grid\n').message).toMatch(/invalid YAML/);
    expect(() => loadSweepFile(join(dir, 'nope.yaml'))).toThrow(/sweep file not found/);
  });
});
