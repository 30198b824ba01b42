import { execFileSync } from 'node:child_process';

export interface GitInfo {
  commit: string | null;
  dirty: boolean | null;
}

/** The commit of the working tree and whether it has uncommitted changes; nulls outside a git checkout. */
export function readGitInfo(cwd = process.cwd()): GitInfo {
  const git = (args: string[]) =>
    execFileSync('git', args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    }).trim();
  try {
    const commit = git(['rev-parse', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '';
    return { commit, dirty };
  } catch {
    return { commit: null, dirty: null };
  }
}
