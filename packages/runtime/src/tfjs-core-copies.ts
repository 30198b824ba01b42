import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The TF.js packages whose kernels and backends must land in the one tfjs-core the project computes with. */
export const TFJS_PACKAGES = [
  '@tensorflow/tfjs-layers',
  '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
] as const;

export interface TfjsCoreCopy {
  /** Real path of the tfjs-core entry file Node would load. */
  path: string;
  version: string;
  /** Who loads this copy: 'core' (this package) or a TF.js package name. */
  loadedBy: string[];
}

/**
 * Every copy of @tensorflow/tfjs-core that this package and the TF.js packages it depends on would load, found with
 * Node's own resolution from each package's real directory (pnpm links packages from .pnpm/). One copy is healthy.
 * Two would split `instanceof Tensor` checks and the kernel registry between them, so a backend registered by
 * tfjs-node would be invisible to the layers models. The native packages reach tfjs-core through @tensorflow/tfjs,
 * which is followed too. Packages that are not installed are left out. `from` and `packages` exist for tests.
 */
export function findTfjsCoreCopies(
  from: string = import.meta.url,
  packages: readonly string[] = TFJS_PACKAGES,
): TfjsCoreCopy[] {
  const copies = new Map<string, TfjsCoreCopy>();
  const add = (requireFrom: NodeJS.Require, user: string) => {
    const entry = tryResolve(requireFrom, '@tensorflow/tfjs-core');
    if (!entry) return;
    const path = realpathSync(entry);
    const copy = copies.get(path) ?? { path, version: versionOf(requireFrom), loadedBy: [] };
    if (!copy.loadedBy.includes(user)) copy.loadedBy.push(user);
    copies.set(path, copy);
  };
  const fromCore = createRequire(from);
  add(fromCore, 'core');
  for (const pkg of packages) {
    const manifest = tryResolve(fromCore, `${pkg}/package.json`);
    if (!manifest) continue;
    const fromPkg = createRequire(realpathSync(manifest));
    add(fromPkg, pkg);
    if (!dependsOn(fromPkg, '@tensorflow/tfjs')) continue;
    const union = tryResolve(fromPkg, '@tensorflow/tfjs/package.json');
    if (union) add(createRequire(realpathSync(union)), pkg);
  }
  return [...copies.values()];
}

function tryResolve(require: NodeJS.Require, id: string): string | undefined {
  try {
    return require.resolve(id);
  } catch {
    return undefined;
  }
}

function dependsOn(requireFromPackage: NodeJS.Require, dependency: string): boolean {
  const manifest = requireFromPackage('./package.json') as { dependencies?: Record<string, string> };
  return dependency in (manifest.dependencies ?? {});
}

function versionOf(require: NodeJS.Require): string {
  try {
    return (require('@tensorflow/tfjs-core/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
