import { fileURLToPath } from 'node:url';

/** Where the generated environment reference lives, from the repository root. */
export const ENV_REFERENCE_PATH = fileURLToPath(
  new URL('../../../../docs/serve-environment.md', import.meta.url),
);
export const ENV_REFERENCE_COMMAND = 'pnpm docs:env';
