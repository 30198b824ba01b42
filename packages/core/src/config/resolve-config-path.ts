import { existsSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { ConfigError } from '../errors.ts';

/**
 * The experiment file a `--config` argument names, as users type it: a path that exists, or a bare name looked up in
 * `configsDir` (`exp1.yaml` or `exp1` -> `configs/exp1.yaml`). Not found: a ConfigError listing what is there.
 */
export function resolveConfigPath(file: string, configsDir = 'configs'): string {
  if (existsSync(file)) return file;
  const bare = !file.includes('/') && !file.includes('\\');
  if (bare) {
    const candidates = extname(file) ? [file] : [`${file}.yaml`, `${file}.yml`];
    for (const candidate of candidates) {
      const path = join(configsDir, candidate);
      if (existsSync(path)) return path;
    }
  }
  const available = existsSync(configsDir)
    ? readdirSync(configsDir).filter((entry) => /\.ya?ml$/.test(entry))
    : [];
  throw new ConfigError(
    `config file not found: ${file}${bare ? ` (nor ${join(configsDir, extname(file) ? file : `${file}.yaml`)})` : ''}`,
    {
      hint:
        available.length > 0
          ? `experiments in ${configsDir}/: ${available.join(', ')}`
          : 'give the path of an experiment YAML file',
    },
  );
}
