/** `pnpm track sync <run-dir>`: uploads a local run (e.g. one trained with WANDB_MODE=offline) to W&B. */
import { ConfigError, createLogger, createStorage, joinUri, runCli } from '@tfmlops/core';
import { resolveWandb, trackingConfigSchema } from './config.ts';
import { parseConfigYaml, RUN_FILES } from './run-files.ts';
import { syncRun } from './sync.ts';

const USAGE = 'usage: pnpm track sync <run-dir>';

await runCli(async () => {
  const [command, runDir, ...rest] = process.argv.slice(2);
  if (command !== 'sync' || !runDir || rest.length > 0) {
    throw new ConfigError(
      command === 'sync' ? 'track sync takes one run directory' : `unknown command '${command ?? ''}'`,
      {
        hint: USAGE,
      },
    );
  }
  const logger = createLogger({ level: 'info' });
  const storage = createStorage({ gcs: { apiEndpoint: process.env.STORAGE_EMULATOR_HOST } });
  // The run's own tracking section (project, entity, tags) applies, with the environment over it as at training.
  const configUri = joinUri(runDir, RUN_FILES.config);
  const config = (await storage.exists(configUri))
    ? parseConfigYaml((await storage.read(configUri)).toString('utf8'))
    : {};
  const section = trackingConfigSchema.safeParse(config.tracking ?? {});
  const wandb = resolveWandb(
    { ...(section.success ? section.data : trackingConfigSchema.parse({})), wandb: true },
    process.env,
  );
  if (wandb.state !== 'online') {
    throw new ConfigError(`cannot sync while ${wandb.why}`, {
      hint: 'unset WANDB_MODE (or set it to online) to upload the run',
    });
  }
  const { mark, epochs } = await syncRun(runDir, { storage, logger, settings: wandb.settings });
  process.stdout.write(
    `synced ${epochs} epoch${epochs === 1 ? '' : 's'} of ${runDir} to ${String(mark.url)}\n`,
  );
  return 0;
});
