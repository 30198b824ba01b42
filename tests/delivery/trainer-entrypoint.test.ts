// The trainer image's entrypoint, run outside the image: `node` and `pnpm` on PATH are stand-ins that print what
// they were asked to run (the real node still answers the script's own `node -p` / health-check calls), so each
// case shows the exact process the container would exec.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, rootScripts } from './repo.ts';

const run = promisify(execFile);
const ENTRYPOINT = join(ROOT, 'dockerfiles', 'trainer-entrypoint.sh');
const bin = mkdtempSync(join(tmpdir(), 'entrypoint-bin-'));
afterAll(() => rmSync(bin, { recursive: true, force: true }));

// node: the entrypoint's helpers (-p, -e, the .mjs health check) run for real; anything else is printed.
writeFileSync(
  join(bin, 'node'),
  `#!/bin/sh
case "$1" in
  -p | -e | *.mjs) exec "${process.execPath}" "$@" ;;
esac
printf 'node'; for a in "$@"; do printf ' %s' "$a"; done; printf '\\nTFMLOPS_BACKEND=%s\\n' "$TFMLOPS_BACKEND"
`,
);
// pnpm: `pnpm run --silent doctor --json` prints the report the test put in DOCTOR_REPORT; others are printed.
writeFileSync(
  join(bin, 'pnpm'),
  `#!/bin/sh
if [ "$*" = "run --silent doctor --json" ]; then printf '%s' "$DOCTOR_REPORT"; exit "\${DOCTOR_EXIT:-0}"; fi
printf 'pnpm'; for a in "$@"; do printf ' %s' "$a"; done; printf '\\n'
`,
);
chmodSync(join(bin, 'node'), 0o755);
chmodSync(join(bin, 'pnpm'), 0o755);

async function entrypoint(args: string[], env: Record<string, string> = {}) {
  const result = await run(ENTRYPOINT, args, {
    env: { PATH: `${bin}:${process.env.PATH}`, TFMLOPS_APP_DIR: ROOT, ...env },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  return { ...result, stdout: result.stdout.trim() };
}

/** What the entrypoint should exec for a root script `node --import tsx <file> [args]`: the script itself. */
function nodeFor(script: string, ...args: string[]): string {
  const words = rootScripts()[script]!.split(' ');
  expect(words.slice(0, 3)).toEqual(['node', '--import', 'tsx']);
  return [...words, ...args].join(' ');
}

describe('trainer entrypoint', () => {
  it('trains exp1 when run with no arguments, on the backend the image was built for', async () => {
    const { stdout } = await entrypoint([], { TFMLOPS_NATIVE: 'gpu' });
    expect(stdout).toBe(
      `${nodeFor('train', '--config', 'configs/exp1.yaml')}\nTFMLOPS_BACKEND=tensorflow-gpu`,
    );
  });

  it('passes `--config exp2.yaml key=value` to pnpm train (docker run trainer:latest --config ...)', async () => {
    const { stdout } = await entrypoint(['--config', 'exp2.yaml', 'train.epochs=3'], {
      TFMLOPS_NATIVE: 'none',
    });
    expect(stdout).toBe(
      `${nodeFor('train', '--config', 'exp2.yaml', 'train.epochs=3')}\nTFMLOPS_BACKEND=wasm`,
    );
  });

  it('trains exp1 with overrides given alone, and resumes a run without adding a config', async () => {
    expect((await entrypoint(['train.epochs=3'])).stdout.split('\n')[0]).toBe(
      nodeFor('train', '--config', 'configs/exp1.yaml', 'train.epochs=3'),
    );
    expect((await entrypoint(['train', '--resume', 'runs/exp1/x'])).stdout.split('\n')[0]).toBe(
      nodeFor('train', '--resume', 'runs/exp1/x'),
    );
  });

  it('keeps a TFMLOPS_BACKEND given at run time (a GPU image asked to run on wasm)', async () => {
    const { stdout } = await entrypoint([], { TFMLOPS_NATIVE: 'gpu', TFMLOPS_BACKEND: 'wasm' });
    expect(stdout.split('\n')[1]).toBe('TFMLOPS_BACKEND=wasm');
  });

  it('runs any TypeScript script of package.json through node directly (doctor, data, gpu-check)', async () => {
    expect((await entrypoint(['doctor', '--json'])).stdout.split('\n')[0]).toBe(nodeFor('doctor', '--json'));
    expect((await entrypoint(['gpu-check'])).stdout.split('\n')[0]).toBe(nodeFor('gpu-check'));
    expect((await entrypoint(['data', 'prepare', '--config', 'exp1.yaml'])).stdout.split('\n')[0]).toBe(
      nodeFor('data', 'prepare', '--config', 'exp1.yaml'),
    );
  });

  it('finds every TypeScript root script in the form it runs directly: node --import tsx, never the tsx CLI', () => {
    // The tsx CLI runs the script in a second process and relays Ctrl-C to it; when that child's event loop is busy
    // for 60 ms (a training step, a loaded machine) the relay SIGKILLs it, so no checkpoint and no resume hint.
    const typescript = Object.entries(rootScripts()).filter(([, script]) => /\.ts\b/.test(script));
    expect(typescript.length).toBeGreaterThan(10);
    for (const [name, script] of typescript) expect(script, name).toMatch(/^node --import tsx \S+\.ts\b/);
  });

  it('runs other package.json scripts through pnpm, and anything else as a command', async () => {
    expect((await entrypoint(['lint'])).stdout).toBe('pnpm run --silent lint');
    expect(
      (await entrypoint(['sh', '-c', 'echo "$TFMLOPS_BACKEND"'], { TFMLOPS_NATIVE: 'cpu' })).stdout,
    ).toBe('tensorflow');
  });
});

describe('trainer health check (entrypoint healthcheck + trainer-healthcheck.mjs)', () => {
  const report = (usable: Record<string, boolean>) =>
    JSON.stringify({
      backends: Object.entries(usable).map(([backend, ok]) => ({
        backend,
        usable: ok,
        detail: ok ? `${backend} started` : `${backend} did not start`,
        hint: ok ? undefined : `fix ${backend}`,
      })),
      problems: [{ problem: 'no CUDA GPU visible', fix: 'run with --gpus all' }],
    });

  it('passes when the backend the image trains on starts', async () => {
    const result = await entrypoint(['healthcheck'], {
      TFMLOPS_NATIVE: 'none',
      DOCTOR_REPORT: report({ 'tensorflow-gpu': false, wasm: true }),
    });
    expect(result).toMatchObject({ code: 0, stdout: 'healthcheck: wasm works (wasm started)' });
  });

  it('fails a GPU image whose GPU stack does not start, even though wasm would (doctor exits 0 then)', async () => {
    const result = await entrypoint(['healthcheck'], {
      TFMLOPS_NATIVE: 'gpu',
      DOCTOR_REPORT: report({ 'tensorflow-gpu': false, wasm: true }),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'backend tensorflow-gpu does not start here: tensorflow-gpu did not start; fix: fix tensorflow-gpu',
    );
    expect(result.stderr).toContain('no CUDA GPU visible: run with --gpus all');
  });

  it('fails when the doctor prints no report', async () => {
    const result = await entrypoint(['healthcheck'], { DOCTOR_REPORT: 'Error: boom', DOCTOR_EXIT: '1' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('printed no report: Error: boom');
  });
});
