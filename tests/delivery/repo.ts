// What the delivery checks read from the repository: its files as git sees them, the root package's scripts, and
// which external tools this machine has.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');

/** Tracked and untracked-but-not-ignored files, relative to the root: what a clone (and a build context) holds. */
export function repoFiles(): string[] {
  cachedFiles ??= listRepoFiles();
  return cachedFiles;
}
let cachedFiles: string[] | undefined;

function listRepoFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return out
    .split('\0')
    .filter(Boolean)
    .filter((file) => existsSync(join(ROOT, file)));
}

export function readRepoFile(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

export function rootScripts(): Record<string, string> {
  return JSON.parse(readRepoFile('package.json')).scripts;
}

/** pnpm's own commands (what `pnpm <word>` runs when no script has that name). */
const PNPM_BUILTINS = new Set([
  'add',
  'deploy',
  'dlx',
  'exec',
  'fetch',
  'install',
  'i',
  'rebuild',
  'remove',
  'run',
  'store',
  'update',
  'why',
]);

/**
 * Every `pnpm <name>` / `pnpm run <name>` in a text whose name is neither a root script nor a pnpm command, e.g. a
 * runbook telling people to run `pnpm trian`; and every `pnpm --filter <package> [run] <name>` whose package is not
 * a workspace package or has no such script (reported as `<package> <name>`). Other option-only invocations are not
 * checked.
 */
export function unknownPnpmCommands(text: string): string[] {
  const scripts = rootScripts();
  const unknown = new Set<string>();
  for (const match of text.matchAll(
    /(?<![\w@/-])pnpm(?:[ \t]+run)?(?:[ \t]+--silent)?[ \t]+([a-z][\w:-]*)/g,
  )) {
    const name = match[1]!;
    if (!(name in scripts) && !PNPM_BUILTINS.has(name)) unknown.add(name);
  }
  const packages = workspaceScripts();
  for (const match of text.matchAll(
    /(?<![\w@/-])pnpm[ \t]+(?:--filter|-F)[ \t=]+(\S+)(?:[ \t]+run)?[ \t]+([a-z][\w:-]*)/g,
  )) {
    const [, pkg, name] = match as unknown as [string, string, string];
    if (!(name in (packages.get(pkg) ?? {})) && !(packages.has(pkg) && PNPM_BUILTINS.has(name))) {
      unknown.add(`${pkg} ${name}`);
    }
  }
  return [...unknown];
}

/** The scripts of every workspace package (packages/<dir>/package.json), by package name. */
export function workspaceScripts(): Map<string, Record<string, string>> {
  const manifests = repoFiles().filter((f) => /^packages\/[^/]+\/package\.json$/.test(f));
  return new Map(
    manifests.map((file) => {
      const manifest = JSON.parse(readRepoFile(file)) as { name: string; scripts?: Record<string, string> };
      return [manifest.name, manifest.scripts ?? {}];
    }),
  );
}

/** The path of an executable on PATH, or undefined. */
export function which(command: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}
