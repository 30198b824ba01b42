/** `pnpm track sync <run-dir>`: uploads a local run (e.g. one trained with WANDB_MODE=offline) to W&B. */
import { ConfigError, createLogger, createStorage, joinUri, runCli, type Storage } from '@tfmlops/core';
import { resolveWandb, type TrackingConfig, trackingConfigSchema } from './config.ts';
import { parseConfigYaml, RUN_FILES } from './run-files.ts';
import { syncRun } from './sync.ts';

const USAGE =
  'usage: pnpm track sync <run-dir>   (with WANDB_API_KEY set; WANDB_BASE_URL for another server)';

await runCli(async () => {
  const [command, runDir, ...rest] = process.argv.slice(2);
  if (command !== 'sync' || !runDir || rest.length > 0) {
    throw new ConfigError(
      command === 'sync' ? 'track sync takes one run directory' : `unknown command '${command ?? ''}'`,
      { hint: USAGE },
    );
  }
  if (!process.env.WANDB_API_KEY?.trim()) {
    throw new ConfigError('track sync needs WANDB_API_KEY', {
      hint: 'export WANDB_API_KEY=<key from https://wandb.ai/authorize>',
    });
  }
  const logger = createLogger({ level: 'info' });
  const storage = createStorage({ gcs: { apiEndpoint: process.env.STORAGE_EMULATOR_HOST } });
  const section = await runTrackingSection(storage, runDir);
  const wandb = resolveWandb({ ...section, wandb: true }, process.env);
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

/**
 * The run's `tracking:` section from its config.yaml, with the project and entity the run resolved at training time
 * (recorded in summary.json) taking the section's place: the environment still overrides both, as it did then.
 */
async function runTrackingSection(storage: Storage, runDir: string): Promise<TrackingConfig> {
  const read = async (name: string) => {
    const uri = joinUri(runDir, name);
    return (await storage.exists(uri)) ? (await storage.read(uri)).toString('utf8') : undefined;
  };
  const configText = await read(RUN_FILES.config);
  const parsed = trackingConfigSchema.safeParse(
    configText ? (parseConfigYaml(configText).tracking ?? {}) : {},
  );
  const section = parsed.success ? parsed.data : trackingConfigSchema.parse({});
  const summaryText = await read(RUN_FILES.summary);
  let recorded: { project?: unknown; entity?: unknown } = {};
  try {
    recorded =
      (JSON.parse(summaryText ?? '{}') as { tracking?: { wandb?: typeof recorded } }).tracking?.wandb ?? {};
  } catch {
    // syncRun reports an unreadable summary.json with the path; here it only loses the recorded project.
  }
  return {
    ...section,
    ...(typeof recorded.project === 'string' ? { project: recorded.project } : {}),
    ...(typeof recorded.entity === 'string' ? { entity: recorded.entity } : {}),
  };
}
