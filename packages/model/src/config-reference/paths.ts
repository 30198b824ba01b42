import { fileURLToPath } from 'node:url';

/** Where the generated key reference lives, from the repository root. */
export const CONFIG_REFERENCE_PATH = fileURLToPath(
  new URL('../../../../docs/config-reference.md', import.meta.url),
);
export const CONFIG_REFERENCE_COMMAND = 'pnpm docs:config';
