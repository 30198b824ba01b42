/** `pnpm train --config configs/exp1.yaml [key.path=value ...]`. */
import { createLogger, createStorage, loadConfig, parseExperimentArgs, runCli } from '@tfmlops/core';
import { loadSource } from '@tfmlops/data';
import { realMachineProbes } from '@tfmlops/runtime';
import { experimentConfigSchema } from './config.ts';
import { train } from './train.ts';

await runCli(async () => {
  const [command, ...rest] = process.argv.slice(2);
  if (command !== 'train') {
    process.stderr.write(
      `unknown command '${command ?? ''}': only \`train\` exists today (evaluate comes with model bundles)\n`,
    );
    return 2;
  }
  const args = parseExperimentArgs(rest);
  const { config } = loadConfig({
    schema: experimentConfigSchema,
    file: args.configFile,
    overrides: args.overrides,
    env: process.env,
  });
  const logger = createLogger({ level: config.logging.level });
  const storage = createStorage({ gcs: { apiEndpoint: process.env.STORAGE_EMULATOR_HOST } });
  const result = await train(config, { storage, logger, probes: realMachineProbes(process.env), loadSource });
  const last = result.epochs[result.epochs.length - 1];
  process.stdout.write(
    `\ntrained ${config.model.architecture} on ${result.backend}: test accuracy ${(result.testAccuracy * 100).toFixed(2)}%` +
      (last ? `, ${last.imagesPerSecond.toFixed(0)} images/s in the last epoch` : '') +
      `\nrun: ${result.runUri}\n`,
  );
});
