/** `pnpm docs:env`: regenerates docs/serve-environment.md from the service's environment schema. */
import { writeFileSync } from 'node:fs';
import { DRIFT_ENV, serveEnvSchema } from '../config.ts';
import { ENV_REFERENCE_COMMAND, ENV_REFERENCE_PATH } from './paths.ts';
import { describeEnvSchema, driftEnvDefaults, renderEnvReference } from './render.ts';

const defaults = driftEnvDefaults(DRIFT_ENV);
writeFileSync(
  ENV_REFERENCE_PATH,
  renderEnvReference(serveEnvSchema, { command: ENV_REFERENCE_COMMAND, defaults }),
);
process.stdout.write(`wrote ${ENV_REFERENCE_PATH}\n`);
const { undocumented } = describeEnvSchema(serveEnvSchema, defaults);
if (undocumented.length > 0) {
  process.stderr.write(`variables without a .describe(): ${undocumented.join(', ')}\n`);
  process.exitCode = 1;
}
