import * as tf from '@tensorflow/tfjs-core';
import type { MachineProbes } from './probes.ts';

export type NativeBackend = 'tensorflow-gpu' | 'tensorflow';

export const NATIVE_PACKAGE: Record<NativeBackend, string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

/** Why a native package could not be loaded, in words, with what to do about it. */
export interface NativeLoadFailure {
  reason: string;
  hint: string;
  cause: unknown;
}

/**
 * Imports tfjs-node or tfjs-node-gpu, which registers the 'tensorflow' backend in the shared tfjs-core. Both
 * packages are optional dependencies whose install script downloads libtensorflow and a prebuilt addon; where that
 * failed the package is present but throws on import, and this says which of the cases it is.
 */
export async function loadNativePackage(
  backend: NativeBackend,
  probes: MachineProbes,
): Promise<NativeLoadFailure | undefined> {
  const pkg = NATIVE_PACKAGE[backend];
  // Importing tfjs-node loads @tensorflow/tfjs and registers ~170 kernels (~0.75 s of CPU and ~25 MB) before it
  // looks for its addon, so where the addon is known to be missing, say so without importing: in the words of the
  // error tfjs-node itself would throw, so the reason and hint are the same either way.
  const addon = probes.findNativeAddon(pkg);
  if (addon && !addon.exists) return explainLoadFailure(pkg, missingAddonError(pkg, addon.path));
  try {
    await probes.loadModule(pkg);
    return undefined;
  } catch (error) {
    forgetOrphanedKernels();
    return explainLoadFailure(pkg, error);
  }
}

/** The error tfjs-node 4.22's entry point throws when its addon file is missing (dist/index.js), word for word. */
export function missingAddonError(pkg: string, path: string): Error {
  return new Error(
    `The Node.js native addon module (tfjs_binding.node) can not be found at path: ${path}. \nPlease run command ` +
      `'npm rebuild ${pkg} --build-addon-from-source' to rebuild the native addon module. \nIf you have problem ` +
      'with building the addon module, please check https://github.com/tensorflow/tfjs/blob/master/tfjs-node/' +
      'WINDOWS_TROUBLESHOOTING.md or file an issue.',
  );
}

/**
 * tfjs-node registers its ~170 'tensorflow' kernels before it looks for its binding, so a failed import leaves
 * kernels without a backend. Left there, they would shadow the kernels of the other native package (tfjs-node after
 * tfjs-node-gpu) and fill the console with "already registered" warnings.
 */
function forgetOrphanedKernels(): void {
  if (tf.findBackendFactory('tensorflow')) return;
  for (const kernel of tf.getKernelsForBackend('tensorflow'))
    tf.unregisterKernel(kernel.kernelName, 'tensorflow');
}

export function explainLoadFailure(pkg: string, error: unknown): NativeLoadFailure {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string } | undefined)?.code;
  const rebuild =
    `where storage.googleapis.com is reachable run \`pnpm rebuild ${pkg}\`; behind a mirror set ` +
    'TFJS_NODE_CDN_STORAGE=<mirror>/ for libtensorflow; the addon, also from storage.googleapis.com, then falls back to a source build (python3, make, g++)';
  if (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    new RegExp(`Cannot find (package|module) '${pkg}'`).test(message)
  ) {
    return {
      reason: `${pkg} is not installed`,
      hint: `install it (\`pnpm install\` without --no-optional, or add ${pkg} to packages/core)`,
      cause: error,
    };
  }
  if (/tfjs_binding\.node\) can not be found/.test(message)) {
    return {
      reason: `${pkg} is installed but its native addon (tfjs_binding.node) is missing: its install script could not download libtensorflow 2.9.1 or the prebuilt addon`,
      hint: rebuild,
      cause: error,
    };
  }
  if (/libtensorflow[^:\s]*\.so[^:]*: cannot open shared object file/.test(message)) {
    return {
      reason: `${pkg} is installed but libtensorflow cannot be loaded (${firstLine(message)})`,
      hint: rebuild,
      cause: error,
    };
  }
  return {
    reason: `${pkg} failed to load: ${firstLine(message)}`,
    hint: `\`pnpm rebuild ${pkg}\`; \`pnpm run doctor\` lists what else is missing`,
    cause: error,
  };
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}
