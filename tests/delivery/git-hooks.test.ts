// The pre-commit hook `pnpm install` sets up (root `prepare` -> simple-git-hooks), exercised in a scratch
// repository with this repository's package.json and biome.json: a staged file biome rejects stops the commit, a clean
// one goes through.
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, rootScripts } from './repo.ts';

const run = promisify(execFile);
let repo: string;

async function git(...args: string[]) {
  return run('git', args, { cwd: repo, env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: repo } });
}

beforeAll(async () => {
  repo = mkdtempSync(join(tmpdir(), 'hooks-'));
  await git('init', '-q', '-b', 'main');
  await git('config', 'user.email', 'test@example.com');
  await git('config', 'user.name', 'test');
  copyFileSync(join(ROOT, 'package.json'), join(repo, 'package.json'));
  copyFileSync(join(ROOT, 'biome.json'), join(repo, 'biome.json'));
  writeFileSync(join(repo, '.gitignore'), 'node_modules\n');
  symlinkSync(join(ROOT, 'node_modules'), join(repo, 'node_modules'));
  // What `pnpm install` runs as the root package's `prepare` script.
  await run('sh', ['-c', rootScripts().prepare!], {
    cwd: repo,
    env: { ...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}` },
  });
});
afterAll(() => rmSync(repo, { recursive: true, force: true }));

describe('git hooks', () => {
  it('pnpm install installs a pre-commit hook that runs biome on staged files', () => {
    expect(rootScripts().prepare).toBe('simple-git-hooks');
    const hook = join(repo, '.git', 'hooks', 'pre-commit');
    expect(existsSync(hook)).toBe(true);
    expect(readFileSync(hook, 'utf8')).toContain('node_modules/.bin/biome check --staged');
  });

  it('stops a commit whose staged file biome rejects, and lets the fixed file through', async () => {
    writeFileSync(join(repo, 'bad.ts'), 'export const x   =  {a:1}\n');
    await git('add', 'bad.ts');
    const rejected = await git('commit', '-q', '-m', 'bad').catch((error) => error);
    expect(rejected.code).toBe(1);
    expect(`${rejected.stdout}${rejected.stderr}`).toMatch(/bad\.ts/);
    expect((await git('rev-list', '--all')).stdout).toBe('');

    writeFileSync(join(repo, 'bad.ts'), 'export const x = { a: 1 };\n');
    await git('add', 'bad.ts');
    await git('commit', '-q', '-m', 'good');
    expect((await git('log', '--format=%s')).stdout.trim()).toBe('good');
  });
});
