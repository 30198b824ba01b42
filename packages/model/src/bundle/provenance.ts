import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GitInfo {
  commit: string | null;
  dirty: boolean | null;
}

/**
 * Which code made a model: the git commit of `cwd` and whether the work tree had uncommitted changes. Inside an image
 * there is no .git; the build passes the commit in (`GIT_COMMIT`, read by the entry point and given as `fallback`).
 * Unknown stays null rather than guessed.
 */
export async function readGitInfo(cwd: string, fallback: Partial<GitInfo> = {}): Promise<GitInfo> {
  try {
    const { stdout: commit } = await run('git', ['rev-parse', 'HEAD'], { cwd, timeout: 5000 });
    const { stdout: status } = await run('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd,
      timeout: 5000,
    });
    return { commit: commit.trim(), dirty: status.trim().length > 0 };
  } catch {
    return { commit: fallback.commit ?? null, dirty: fallback.dirty ?? null };
  }
}
