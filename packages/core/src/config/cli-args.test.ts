import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { parseExperimentArgs } from './cli-args.ts';

describe('parseExperimentArgs', () => {
  it('splits --config, overrides, sub-commands and extra flags', () => {
    const args = parseExperimentArgs(
      ['prepare', '--config', 'configs/exp1.yaml', 'train.epochs=2', '--json'],
      {
        json: { type: 'boolean' },
      },
    );
    expect(args).toEqual({
      configFile: 'configs/exp1.yaml',
      overrides: ['train.epochs=2'],
      positionals: ['prepare'],
      flags: { json: true },
    });
  });

  it('rejects unknown flags with a ConfigError listing the known ones', () => {
    let error: unknown;
    try {
      parseExperimentArgs(['--confg', 'x.yaml']);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).hint).toMatch(/--config/);
  });
});
