import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingAddonError } from './native.ts';
import { nativeAddonPath, realMachineProbes } from './probes.ts';

/** tfjs-node 4.22's `binary` section, as node-pre-gyp reads it. */
const TFJS_NODE_MANIFEST = JSON.stringify({
  name: '@tensorflow/tfjs-node',
  binary: {
    module_name: 'tfjs_binding',
    module_path: './lib/napi-v{napi_build_version}',
    napi_versions: [3, 4, 5, 6, 7, 8],
  },
});

describe('nativeAddonPath', () => {
  it('takes the highest N-API version of the manifest this Node.js supports, as node-pre-gyp does', () => {
    const manifest = '/app/node_modules/@tensorflow/tfjs-node/package.json';
    expect(nativeAddonPath(manifest, TFJS_NODE_MANIFEST, 9)).toBe(
      '/app/node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node',
    );
    expect(nativeAddonPath(manifest, TFJS_NODE_MANIFEST, 5)).toBe(
      '/app/node_modules/@tensorflow/tfjs-node/lib/napi-v5/tfjs_binding.node',
    );
  });

  it('cannot tell (undefined: import to find out) when the manifest describes no layout it knows', () => {
    const manifest = '/p/package.json';
    expect(nativeAddonPath(manifest, TFJS_NODE_MANIFEST, 2)).toBeUndefined();
    expect(nativeAddonPath(manifest, '{"name":"x"}', 9)).toBeUndefined();
    expect(nativeAddonPath(manifest, 'not json', 9)).toBeUndefined();
    const abi = JSON.stringify({ binary: { module_name: 'b', module_path: './lib/{node_abi}' } });
    expect(nativeAddonPath(manifest, abi, 9)).toBeUndefined();
  });
});

describe('realMachineProbes().findNativeAddon (describes this machine, asserts nothing about it)', () => {
  const probes = realMachineProbes({});

  it('says undefined for a package that is not installed', () => {
    expect(probes.findNativeAddon('@tfmlops/no-such-native-package')).toBeUndefined();
  });

  it.for(['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'])(
    'finds the file node-pre-gyp finds for %s, and whether it is there',
    (pkg, context) => {
      const addon = probes.findNativeAddon(pkg);
      if (!addon) {
        context.skip(`${pkg} is not installed here: nothing to compare with node-pre-gyp`);
        return;
      }
      console.info(`${pkg}: addon ${addon.exists ? 'present' : 'missing'} at ${addon.path}`);
      const manifest = createRequire(import.meta.url).resolve(`${pkg}/package.json`);
      const nodePreGyp = createRequire(manifest)('@mapbox/node-pre-gyp') as { find(path: string): string };
      expect(addon.path).toBe(nodePreGyp.find(manifest));
      expect(addon.exists).toBe(existsSync(addon.path));
      expect(addon.path.startsWith(dirname(manifest))).toBe(true);
      expect(JSON.parse(readFileSync(manifest, 'utf8')).name).toBe(pkg);
    },
  );

  it('where tfjs-node is installed without its addon, importing it throws word for word what the file check reports', async (context) => {
    const pkg = '@tensorflow/tfjs-node';
    const addon = probes.findNativeAddon(pkg);
    if (!addon || addon.exists) {
      context.skip(
        `${pkg} is ${addon ? 'complete' : 'not installed'} here: no missing-addon error to compare`,
      );
      return;
    }
    const error = await probes.loadModule(pkg).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toBe(missingAddonError(pkg, addon.path).message);
  });
});
