/**
 * `pnpm run dvc:collect --runs runs/exp1 --out metrics/exp1/train`: the newest finished run of an experiment copied to
 * a fixed directory for DVC's metrics and plots (dvc.yaml's train stage runs it after `pnpm train`).
 */
import { ConfigError, createStorage, parseExperimentArgs, runCli } from '@tfmlops/core';
import { collectLatestRun } from './collect-run.ts';

await runCli(async () => {
  const { flags } = parseExperimentArgs(process.argv.slice(2), {
    runs: { type: 'string' },
    out: { type: 'string' },
  });
  const runs = typeof flags.runs === 'string' ? flags.runs : undefined;
  const out = typeof flags.out === 'string' ? flags.out : undefined;
  if (!runs || !out) {
    throw new ConfigError('--runs and --out are required', {
      hint: 'usage: pnpm run dvc:collect --runs runs/<experiment> --out <dir>',
    });
  }
  const collected = await collectLatestRun(createStorage(), runs, out);
  process.stdout.write(`${collected.runUri} -> ${out}: ${collected.files.join(', ')}\n`);
  return 0;
});
