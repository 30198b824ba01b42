import { execFileSync } from 'node:child_process';

/** Debian's python3: the peers use Debian's PyTorch and PIL (the pyenv python3 first on PATH has neither). */
export const DEBIAN_PYTHON = '/usr/bin/python3';

/** Whether Debian's python3 imports `module`; never installs anything. */
export function pythonModuleAvailable(module: string, env: NodeJS.ProcessEnv = process.env): boolean {
  try {
    execFileSync(DEBIAN_PYTHON, ['-c', `import ${module}`], { stdio: 'ignore', env });
    return true;
  } catch {
    return false;
  }
}

/** The command a user runs to install Debian packages the bench needs (the bench itself never installs). */
export function aptInstallCommand(packages: string[]): string {
  return `sudo apt-get update && sudo apt-get install -y ${packages.join(' ')}`;
}
