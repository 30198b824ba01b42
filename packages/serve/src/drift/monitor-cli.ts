/**
 * `pnpm monitor report --bundle <uri> --log <prediction-log-uri> [--out DIR] [key=value ...]`: the offline drift
 * report of logged predictions against the bundle's reference statistics. Overrides set drift thresholds
 * (`ksPValue=0.01`, `mmdPermutations=1000`, ...; see driftConfigSchema).
 */
import {
  ConfigError,
  createLogger,
  createStorage,
  loggingConfigSchema,
  parseExperimentArgs,
  parseOverride,
  runCli,
} from '@tfmlops/core';
import { driftConfigSchema } from './config.ts';
import { writeDriftReport } from './report.ts';

const USAGE =
  'usage: pnpm monitor report --bundle <bundle-uri> --log <prediction-log-uri> [--out DIR] [key=value ...]';

await runCli(async () => {
  const [command, ...rest] = process.argv.slice(2);
  if (command !== 'report') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const args = parseExperimentArgs(rest, {
    bundle: { type: 'string' },
    log: { type: 'string' },
    out: { type: 'string' },
  });
  if (args.configFile !== undefined || args.positionals.length > 0) {
    const extra = args.configFile !== undefined ? `--config ${args.configFile}` : args.positionals.join(' ');
    throw new ConfigError(`pnpm monitor report does not take ${extra}`, { hint: USAGE });
  }
  const bundleUri = args.flags.bundle;
  const logUri = args.flags.log;
  if (typeof bundleUri !== 'string' || typeof logUri !== 'string') {
    throw new ConfigError('pnpm monitor report needs --bundle and --log', { hint: USAGE });
  }
  const settings = Object.fromEntries(
    args.overrides.map((text) => {
      const override = parseOverride(text);
      return [override.path.join('.'), override.value];
    }),
  );
  const parsedConfig = driftConfigSchema.safeParse(settings);
  if (!parsedConfig.success) {
    throw new ConfigError(
      `invalid drift settings: ${parsedConfig.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      {
        hint: `known settings: ${Object.keys(driftConfigSchema.shape).join(', ')}`,
      },
    );
  }
  const logger = createLogger(loggingConfigSchema.parse({ level: process.env.LOG_LEVEL }));
  const storage = createStorage({ gcs: { apiEndpoint: process.env.STORAGE_EMULATOR_HOST } });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = typeof args.flags.out === 'string' ? args.flags.out : `reports/monitoring/${stamp}`;
  const report = await writeDriftReport({
    bundleUri,
    logUri,
    outDir,
    storage,
    config: parsedConfig.data,
    logger,
  });
  process.stdout.write(
    `${report.log.records} predictions of ${report.bundle.name}@${report.bundle.version}: ` +
      `${report.drifted.length > 0 ? `drift in ${report.drifted.join(', ')}` : 'no drift'}\nreport: ${outDir}/report.md\n`,
  );
  return 0;
});
