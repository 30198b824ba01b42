import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from './cli-runner.ts';
import { ConfigError } from './errors.ts';

afterEach(() => {
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

describe('runCli', () => {
  it('uses the returned exit code', async () => {
    await runCli(async () => 3);
    expect(process.exitCode).toBe(3);
  });

  it('prints the message and hint of a ConfigError and exits with 2', async () => {
    const writes: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      writes.push(String(chunk));
      return true;
    });
    await runCli(async () => {
      throw new ConfigError('configs/x.yaml: train.epochs: expected number', { hint: 'fix it' });
    });
    expect(process.exitCode).toBe(2);
    expect(writes.join('')).toContain(
      'error [CONFIG_INVALID]: configs/x.yaml: train.epochs: expected number',
    );
    expect(writes.join('')).toContain('hint: fix it');
  });
});
