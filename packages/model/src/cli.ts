/** `pnpm train ...`, `pnpm evaluate ...` and `pnpm bundle ...`: parses the command line at the edge and hands over. */
import { ConfigError, runCli } from '@tfmlops/core';
import { runBundleCommand } from './bundle-command.ts';
import { runTrainCommand } from './commands.ts';
import { runEvaluateCommand } from './evaluate-command.ts';

await runCli(async () => {
  const [command, ...rest] = process.argv.slice(2);
  const context = { env: process.env, stdout: process.stdout, stderr: process.stderr };
  if (command === 'train') return runTrainCommand(rest, context);
  if (command === 'evaluate') return runEvaluateCommand(rest, context);
  if (command === 'bundle') return runBundleCommand(rest, context);
  throw new ConfigError(`unknown command '${command ?? ''}'`, {
    hint: '`pnpm train --config configs/exp1.yaml`, `pnpm evaluate --model artifacts/models/exp1` or `pnpm bundle publish <dir>`',
  });
});
