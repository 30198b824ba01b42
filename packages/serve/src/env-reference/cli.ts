/** `pnpm docs:env`: regenerates docs/serve-environment.md from the service's environment schema. */
import { createStorage } from '@tfmlops/core';
import { DRIFT_ENV, serveEnvSchema } from '../config.ts';
import { ENV_REFERENCE_COMMAND, ENV_REFERENCE_PATH } from './paths.ts';
import { describeEnvSchema, driftEnvDefaults, renderEnvReference } from './render.ts';

const defaults = driftEnvDefaults(DRIFT_ENV);
// Atomically (temp file + rename), as every file the product writes.
await createStorage().write(
  ENV_REFERENCE_PATH,
  renderEnvReference(serveEnvSchema, { command: ENV_REFERENCE_COMMAND, defaults }),
);
process.stdout.write(`wrote ${ENV_REFERENCE_PATH}\n`);
const { undocumented } = describeEnvSchema(serveEnvSchema, defaults);
if (undocumented.length > 0) {
  process.stderr.write(`variables without a .describe(): ${undocumented.join(', ')}\n`);
  process.exitCode = 1;
}
