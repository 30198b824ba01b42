import { describe, expect, it } from 'vitest';
import { agentEnvironment, buildAgentCommand, runArgsFor } from './agent-command.ts';

// Expected argv lists follow wandb/wandb_agent.py `_command_run` and wandb/sdk/launch/sweeps/utils.py
// (`create_sweep_command`, `create_sweep_command_args`).
describe('the command line the W&B agent builds from a sweep file', () => {
  const args = {
    'train.batchSize': 64,
    'train.learningRate': 0.00001234,
    'train.evaluation.pictures': false,
  };

  it('pnpm train with ${args_no_hyphens} and ${envvar:...} inside an item', () => {
    const argv = buildAgentCommand({
      command: [
        '${env}',
        'pnpm',
        'train',
        '--config',
        'configs/exp1.yaml',
        'train.outputDir=sweeps/exp1-lr/${envvar:WANDB_SWEEP_ID}/runs',
        '${args_no_hyphens}',
      ],
      program: undefined,
      args,
      env: { WANDB_SWEEP_ID: 'x1y2z3' },
      platform: 'linux',
    });
    expect(argv).toEqual([
      '/usr/bin/env',
      'pnpm',
      'train',
      '--config',
      'configs/exp1.yaml',
      'train.outputDir=sweeps/exp1-lr/x1y2z3/runs',
      'train.batchSize=64',
      'train.learningRate=1.234e-05',
      'train.evaluation.pictures=False',
    ]);
  });

  it("W&B's default command runs `python <program> --k=v`", () => {
    expect(
      buildAgentCommand({
        command: undefined,
        program: 'train.py',
        args: { lr: 0.1, optimizer: 'adam' },
        env: {},
        platform: 'linux',
      }),
    ).toEqual(['/usr/bin/env', 'python', 'train.py', '--lr=0.1', '--optimizer=adam']);
  });

  it('every other macro; an unknown one expands to nothing, an unset ${envvar:X} to X, numbers become text', () => {
    const argv = buildAgentCommand({
      command: [
        '${interpreter}',
        '${program}',
        '${args}',
        '${args_no_boolean_flags}',
        '${args_no_equals}',
        '${args_json}',
        '${args_json_file}',
        '${nope}',
        '${envvar:UNSET_ONE}',
        3,
      ],
      program: 'p.py',
      args: { a: true, b: false, c: 'x' },
      env: {},
      argsJsonFile: 'wandb/sweep-s/config-r.json',
      platform: 'linux',
    });
    expect(argv).toEqual([
      'python',
      'p.py',
      '--a=True',
      '--b=False',
      '--c=x',
      '--a',
      '--c=x',
      '--a',
      'True',
      '--b',
      'False',
      '--c',
      'x',
      '{"a": true, "b": false, "c": "x"}',
      'wandb/sweep-s/config-r.json',
      'UNSET_ONE',
      '3',
    ]);
  });

  it('on Windows ${env} is dropped', () => {
    expect(
      buildAgentCommand({
        command: ['${env}', 'pnpm'],
        program: undefined,
        args: {},
        env: {},
        platform: 'win32',
      }),
    ).toEqual(['pnpm']);
  });

  it('a nested parameters block reaches the command as one Python dict (so pnpm sweeps use dotted names)', () => {
    const nested = runArgsFor([
      { path: ['optimizer', 'lr'], value: 0.01 },
      { path: ['optimizer', 'momentum'], value: 0.9 },
      { path: ['epochs'], value: 2 },
    ]);
    expect(nested).toEqual({ epochs: 2, optimizer: { lr: 0.01, momentum: 0.9 } });
    expect(
      buildAgentCommand({ command: ['${args_no_hyphens}'], program: undefined, args: nested, env: {} }),
    ).toEqual(['epochs=2', "optimizer={'lr': 0.01, 'momentum': 0.9}"]);
  });

  it("the trial's environment: the agent's own plus WANDB_SWEEP_ID, WANDB_RUN_ID, WANDB_SWEEP_PARAM_PATH and WANDB_DIR", () => {
    const env = agentEnvironment({
      base: { PATH: '/bin', WANDB_PROJECT: 'p', GONE: undefined },
      sweepId: 's1',
      runId: 'r1',
      paramPath: '/w/wandb/sweep-s1/config-r1.yaml',
      dir: '/w',
    });
    expect(env).toEqual({
      PATH: '/bin',
      WANDB_PROJECT: 'p',
      WANDB_DIR: '/w',
      WANDB_SWEEP_ID: 's1',
      WANDB_RUN_ID: 'r1',
      WANDB_SWEEP_PARAM_PATH: '/w/wandb/sweep-s1/config-r1.yaml',
    });
  });
});
