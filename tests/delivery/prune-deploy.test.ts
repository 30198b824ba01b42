// dockerfiles/prune-deploy.mjs on a small pnpm layout: what the bundle imports and its dependencies stay, the rest
// (other packages, workspace packages, links left dangling) goes, and a mistake fails instead of shipping.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from './repo.ts';

const SCRIPT = join(ROOT, 'dockerfiles', 'prune-deploy.mjs');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface Fake {
  version: string;
  dependencies?: string[];
  /** The module's code; default: exports its name. */
  code?: string;
}

/** A deployed directory in pnpm's layout: node_modules/.pnpm/<name>@<version>/node_modules/<name>, deps as siblings. */
function deployed(packages: Record<string, Fake>, topLevel: string[], externals: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'prune-deploy-'));
  dirs.push(dir);
  const store = join(dir, 'node_modules', '.pnpm');
  const entry = (name: string) => join(store, `${name.replace('/', '+')}@${packages[name]!.version}`);
  const link = (target: string, at: string) => {
    mkdirSync(dirname(at), { recursive: true });
    symlinkSync(target, at, 'dir');
  };
  for (const [name, fake] of Object.entries(packages)) {
    const home = join(entry(name), 'node_modules', name);
    mkdirSync(home, { recursive: true });
    const dependencies = Object.fromEntries((fake.dependencies ?? []).map((d) => [d, packages[d]!.version]));
    writeFileSync(join(home, 'package.json'), JSON.stringify({ name, version: fake.version, dependencies }));
    writeFileSync(join(home, 'index.js'), fake.code ?? `module.exports = ${JSON.stringify(name)};`);
    for (const dependency of fake.dependencies ?? []) {
      link(
        join(entry(dependency), 'node_modules', dependency),
        join(entry(name), 'node_modules', dependency),
      );
    }
  }
  for (const name of topLevel) link(join(entry(name), 'node_modules', name), join(dir, 'node_modules', name));
  // pnpm's hoisting of every package, and a .bin link to a package that will go.
  for (const name of Object.keys(packages)) {
    link(join(entry(name), 'node_modules', name), join(store, 'node_modules', name));
  }
  link(join(entry('tsx'), 'node_modules', 'tsx'), join(dir, 'node_modules', '.bin', 'tsx'));
  mkdirSync(join(dir, 'dist'));
  writeFileSync(join(dir, 'dist', 'server.cjs'), '');
  writeFileSync(join(dir, 'dist', 'externals.json'), JSON.stringify({ packages: externals }));
  return dir;
}

function prune(dir: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [SCRIPT, dir, ...args], { encoding: 'utf8' });
  return { code: result.status, output: result.stdout + result.stderr };
}

const PACKAGES: Record<string, Fake> = {
  sharp: { version: '1.0.0', dependencies: ['detect-libc'] },
  'detect-libc': { version: '2.0.0' },
  '@scope/kept': { version: '3.0.0', dependencies: ['sharp'] },
  tsx: { version: '4.0.0', dependencies: ['esbuild'] },
  esbuild: { version: '0.28.0' },
  '@tfmlops/core': { version: '0.1.0', dependencies: ['tsx'] },
  'native-addon': { version: '4.22.0', code: "throw new Error('no libtensorflow');" },
};
const TOP_LEVEL = ['sharp', '@scope/kept', '@tfmlops/core', 'native-addon'];

describe('dockerfiles/prune-deploy.mjs', () => {
  it('keeps the packages the bundle imports with their dependencies, and removes the rest', () => {
    const dir = deployed(PACKAGES, TOP_LEVEL, ['@scope/kept']);
    const { code, output } = prune(dir, '--keep-if-loads', 'native-addon');
    expect(code, output).toBe(0);
    expect(output).toMatch(/native-addon does not load here: left out/);
    expect(output).toMatch(/kept 3 of 7 packages/);
    const store = join(dir, 'node_modules', '.pnpm');
    for (const kept of ['sharp@1.0.0', 'detect-libc@2.0.0', '@scope+kept@3.0.0']) {
      expect(existsSync(join(store, kept)), kept).toBe(true);
    }
    for (const gone of ['tsx@4.0.0', 'esbuild@0.28.0', '@tfmlops+core@0.1.0', 'native-addon@4.22.0']) {
      expect(existsSync(join(store, gone)), gone).toBe(false);
    }
    expect(existsSync(join(dir, 'node_modules', '@scope', 'kept', 'index.js'))).toBe(true);
    for (const gone of ['sharp', '@tfmlops', 'native-addon', '.bin/tsx', '.pnpm/node_modules/tsx']) {
      expect(existsSync(join(dir, 'node_modules', gone)), gone).toBe(false);
    }
    expect(existsSync(join(store, 'node_modules', 'sharp'))).toBe(true);
  });

  it('keeps a --keep-if-loads package that loads', () => {
    const dir = deployed(PACKAGES, TOP_LEVEL, ['@scope/kept']);
    const { code, output } = prune(dir, '--keep-if-loads', 'sharp');
    expect(code, output).toBe(0);
    expect(output).toMatch(/sharp loads: kept/);
    expect(existsSync(join(dir, 'node_modules', 'sharp', 'index.js'))).toBe(true);
  });

  it('fails when the bundle imports a package the deploy does not have, or a kept package does not load', () => {
    const missing = deployed(PACKAGES, TOP_LEVEL, ['@scope/kept', 'pino-pretty']);
    expect(prune(missing)).toMatchObject({
      code: 1,
      output: expect.stringMatching(/imports pino-pretty, which is not in/),
    });
    const broken = deployed(PACKAGES, TOP_LEVEL, ['native-addon']);
    expect(prune(broken)).toMatchObject({ code: 1, output: expect.stringMatching(/no libtensorflow/) });
  });

  it('refuses a directory without the build (dist/externals.json)', () => {
    const dir = deployed(PACKAGES, TOP_LEVEL, []);
    rmSync(join(dir, 'dist'), { recursive: true });
    expect(prune(dir)).toMatchObject({
      code: 1,
      output: expect.stringMatching(/externals\.json is missing/),
    });
  });
});
