import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { findTfjsCoreCopies } from './tfjs-core-copies.ts';

const root = mkdtempSync(join(tmpdir(), 'tfjs-copies-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function fakePackage(
  dir: string,
  name: string,
  version: string,
  dependencies: Record<string, string> = {},
): void {
  const path = join(dir, 'node_modules', ...name.split('/'));
  mkdirSync(path, { recursive: true });
  writeFileSync(
    join(path, 'package.json'),
    JSON.stringify({ name, version, main: 'index.js', dependencies }),
  );
  writeFileSync(join(path, 'index.js'), '');
}

describe('findTfjsCoreCopies', () => {
  it('this install loads one tfjs-core 4.22.0, shared by layers, the backends and every native package present', () => {
    const copies = findTfjsCoreCopies();
    expect(copies).toHaveLength(1);
    expect(copies[0]!.version).toBe('4.22.0');
    // tfjs-node(-gpu) are optional dependencies (`pnpm install --no-optional` leaves them out): where installed,
    // they must share the copy too.
    const require = createRequire(import.meta.url);
    const natives = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'].filter((pkg) => {
      try {
        require.resolve(`${pkg}/package.json`);
        return true;
      } catch {
        return false;
      }
    });
    console.info(`native TF.js packages installed here: ${natives.join(', ') || 'none'}`);
    expect(copies[0]!.loadedBy).toEqual(
      expect.arrayContaining([
        'core',
        '@tensorflow/tfjs-layers',
        '@tensorflow/tfjs-backend-wasm',
        ...natives,
      ]),
    );
  });

  it('finds a second copy nested under a package, and one reached through @tensorflow/tfjs', () => {
    fakePackage(root, '@tensorflow/tfjs-core', '4.22.0');
    fakePackage(root, '@tensorflow/tfjs-layers', '4.22.0');
    fakePackage(join(root, 'node_modules/@tensorflow/tfjs-layers'), '@tensorflow/tfjs-core', '4.21.0');
    fakePackage(root, '@tensorflow/tfjs-node', '4.22.0', { '@tensorflow/tfjs': '4.20.0' });
    const union = join(root, 'node_modules/@tensorflow/tfjs-node');
    fakePackage(union, '@tensorflow/tfjs', '4.20.0');
    fakePackage(join(union, 'node_modules/@tensorflow/tfjs'), '@tensorflow/tfjs-core', '4.20.0');

    // Only the packages laid out here: under `pnpm exec`, NODE_PATH would find the real others from anywhere.
    const copies = findTfjsCoreCopies(pathToFileURL(join(root, 'src', 'index.js')).href, [
      '@tensorflow/tfjs-layers',
      '@tensorflow/tfjs-node',
    ]);
    expect(copies.map((c) => [c.version, c.loadedBy])).toEqual([
      ['4.22.0', ['core', '@tensorflow/tfjs-node']],
      ['4.21.0', ['@tensorflow/tfjs-layers']],
      ['4.20.0', ['@tensorflow/tfjs-node']],
    ]);
  });
});
