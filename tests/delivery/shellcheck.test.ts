// Every shell script of the repository passes shellcheck (Debian's `shellcheck` package): the CI entry point, the
// container scripts, the git hooks. Where shellcheck is missing the test skips and says so.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, repoFiles, which } from './repo.ts';

const run = promisify(execFile);
const SHELLCHECK = which('shellcheck');
if (!SHELLCHECK) {
  process.stderr.write(
    'shellcheck.test.ts: SKIPPED: shellcheck is not installed (Debian/Ubuntu: apt-get install shellcheck)\n',
  );
}

/** Files ending in .sh, and extensionless files whose first line is a sh/bash shebang (.ci/run). */
const SCRIPTS = repoFiles().filter((file) => {
  if (file.endsWith('.sh')) return true;
  if (/\.[^/]+$/.test(file.split('/').pop()!) || file.includes('node_modules/')) return false;
  const head = readFileSync(join(ROOT, file)).subarray(0, 64).toString('utf8');
  return /^#!\s*\/(usr\/)?bin\/(env\s+)?(ba)?sh\b/.test(head);
});

describe('shell scripts', () => {
  it('include the CI entry point, the container test and the image scripts', () => {
    expect(SCRIPTS).toEqual(
      expect.arrayContaining([
        '.ci/run',
        'tests/containers/run.sh',
        'dockerfiles/trainer-entrypoint.sh',
        'dockerfiles/install-native.sh',
      ]),
    );
  });

  // One shellcheck process for all scripts; its gcc-format lines start with the file name.
  let findings: string[] = [];
  beforeAll(async () => {
    if (!SHELLCHECK) return;
    const output = await run(SHELLCHECK, ['--format=gcc', ...SCRIPTS], { cwd: ROOT }).then(
      () => '',
      (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
    );
    findings = output.split('\n').filter(Boolean);
  });

  it.skipIf(!SHELLCHECK).each(SCRIPTS)('%s passes shellcheck', (file) => {
    expect(findings.filter((line) => line.startsWith(`${file}:`))).toEqual([]);
    expect(findings.filter((line) => !SCRIPTS.some((f) => line.startsWith(`${f}:`)))).toEqual([]);
  });

  it.skipIf(!SHELLCHECK)('shellcheck finds a real mistake (so a pass above means something)', async () => {
    const child = execFile(SHELLCHECK!, ['--format=gcc', '-'], { cwd: ROOT });
    const output = new Promise<string>((resolve) => {
      let text = '';
      child.stdout?.on('data', (chunk) => {
        text += chunk;
      });
      child.on('close', () => resolve(text));
    });
    child.stdin?.end('#!/bin/sh\nfile=$1\nif [ -f $file ]; then echo yes; fi\n');
    expect(await output).toMatch(/SC2086/);
  });
});
