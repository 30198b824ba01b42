/** `pnpm docs:config`: regenerates docs/config-reference.md from the experiment schema. */
import { createStorage } from '@tfmlops/core';
import { experimentConfigSchema } from '../config.ts';
import { CONFIG_REFERENCE_COMMAND, CONFIG_REFERENCE_PATH } from './paths.ts';
import { describeConfigSchema, renderConfigReference } from './render-reference.ts';

const { undocumented } = describeConfigSchema(experimentConfigSchema);
// Atomically (temp file + rename), as every file the product writes.
await createStorage().write(
  CONFIG_REFERENCE_PATH,
  renderConfigReference(experimentConfigSchema, { command: CONFIG_REFERENCE_COMMAND }),
);
process.stdout.write(`wrote ${CONFIG_REFERENCE_PATH}\n`);
if (undocumented.length > 0) {
  process.stderr.write(`keys without a .describe(): ${undocumented.join(', ')}\n`);
  process.exitCode = 1;
}
