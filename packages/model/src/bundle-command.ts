import { ConfigError, createLogger, createStorage, parseExperimentArgs } from '@tfmlops/core';
import { publishBundle } from './bundle/export-bundle.ts';
import { readBundleManifest } from './bundle/read-bundle.ts';
import type { CommandContext } from './commands.ts';

const USAGE = 'usage: pnpm bundle publish <bundle-dir> [--to <export-uri>]   (e.g. runs/exp1/<run>/bundle)';

/**
 * `pnpm bundle publish <dir> [--to uri]`: publishes a written bundle (a run's `bundle/`) as `pnpm train` does at its
 * end: checksums verified, copied create-only to `<uri>/<name>/<version>/`, then `latest.json`. It is what a user
 * runs after a training run whose upload failed (its error prints this command); `--to` defaults to the `export.uri`
 * the bundle was trained with.
 */
export async function runBundleCommand(argv: readonly string[], context: CommandContext): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'publish') {
    throw new ConfigError(`unknown bundle command '${command ?? ''}'`, { hint: USAGE });
  }
  const args = parseExperimentArgs(rest, { to: { type: 'string' } });
  const [dir, ...extra] = args.positionals;
  if (!dir || extra.length > 0 || args.configFile !== undefined || args.overrides.length > 0) {
    throw new ConfigError('pnpm bundle publish takes one bundle directory and --to', { hint: USAGE });
  }
  const storage =
    context.storage ?? createStorage({ gcs: { apiEndpoint: context.env.STORAGE_EMULATOR_HOST } });
  const { manifest } = await readBundleManifest(dir, storage);
  const to = typeof args.flags.to === 'string' ? args.flags.to : trainedExportUri(manifest.config);
  if (!to) {
    throw new ConfigError(`the bundle's config names no export.uri: say where with --to`, { hint: USAGE });
  }
  const logger = createLogger({ level: 'warn', destination: context.stderr });
  const published = await publishBundle(dir, to, { storage, logger });
  context.stdout.write(
    `published ${manifest.name}@${manifest.version}\nbundle: ${published.uri}\nlatest: ${published.latestUri}\n`,
  );
  return 0;
}

function trainedExportUri(config: Record<string, unknown>): string | undefined {
  const section = config.export as { uri?: unknown } | undefined;
  return typeof section?.uri === 'string' ? section.uri : undefined;
}
