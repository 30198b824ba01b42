import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('@tfmlops/core import', () => {
  it('loads no TF.js and no GCS SDK at import; the SDK arrives with the first gs:// URI', async () => {
    // A fresh process, so nothing another test imported counts.
    const fixture = join(import.meta.dirname, 'fixtures', 'loaded-packages.ts');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', fixture], {
      cwd: import.meta.dirname,
    });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(result.modules).toBeGreaterThan(10);
    expect(result.atImport).toEqual({ tf: false, gcs: false });
    expect(result.afterGsUri).toEqual({ tf: false, gcs: true });
  });
});
