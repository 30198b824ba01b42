import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface CommandResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Where an installed native package keeps its addon (tfjs_binding.node), and whether the file is there. */
export interface NativeAddon {
  path: string;
  exists: boolean;
}

/**
 * Everything the runtime asks of the machine goes through here, so tests can stand in for a GPU machine by faking
 * only these answers (module lookups, files and command output) while the math runs on a real backend.
 */
export interface MachineProbes {
  /** Dynamic import of an optional package (tfjs-node, tfjs-node-gpu). */
  loadModule(name: string): Promise<unknown>;
  /**
   * Where the native addon of an optional package (tfjs-node, tfjs-node-gpu) is, found from the package's files
   * without importing it; undefined when that cannot be told without importing it (the package is not installed,
   * or its manifest does not say where its addon goes).
   */
  findNativeAddon(name: string): NativeAddon | undefined;
  /** Runs a command without a shell; never throws. */
  runCommand(command: string, args: string[]): Promise<CommandResult>;
  /** Environment variables (LD_LIBRARY_PATH, CUDA_CACHE_PATH...), passed in from the entry point. */
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * The probes of the machine this process runs on. `env` is the environment the entry point passes in; library code
 * never reads the environment itself. Optional packages are resolved from packages/runtime, where they are declared.
 */
export function realMachineProbes(env: Readonly<Record<string, string | undefined>>): MachineProbes {
  const require = createRequire(import.meta.url);
  return {
    loadModule: (name) => import(name),
    findNativeAddon: (name) => {
      let manifest: string;
      try {
        manifest = require.resolve(`${name}/package.json`);
      } catch {
        return undefined;
      }
      const path = nativeAddonPath(manifest, readFileSync(manifest, 'utf8'), Number(process.versions.napi));
      return path === undefined ? undefined : { path, exists: existsSync(path) };
    },
    runCommand: (command, args) =>
      new Promise((resolve) => {
        execFile(command, args, { timeout: 10_000 }, (error, stdout, stderr) =>
          resolve({ ok: !error, stdout: String(stdout), stderr: String(stderr || (error?.message ?? '')) }),
        );
      }),
    env,
  };
}

/**
 * The file tfjs-node's entry point loads, as it finds it (node-pre-gyp's `find` on the package's manifest): the
 * manifest's `binary.module_path` with `{napi_build_version}` set to the highest of `binary.napi_versions` this
 * Node.js supports, then `<binary.module_name>.node`. Undefined when the manifest does not describe such a layout.
 */
export function nativeAddonPath(
  manifestPath: string,
  manifestText: string,
  napiVersion: number,
): string | undefined {
  let binary: { module_name?: unknown; module_path?: unknown; napi_versions?: unknown } | undefined;
  try {
    binary = (JSON.parse(manifestText) as { binary?: typeof binary }).binary;
  } catch {
    return undefined;
  }
  const { module_name: name, module_path: modulePath, napi_versions: versions } = binary ?? {};
  if (typeof name !== 'string' || typeof modulePath !== 'string') return undefined;
  let resolvedPath = modulePath;
  if (modulePath.includes('{napi_build_version}')) {
    const usable = (Array.isArray(versions) ? versions : []).filter(
      (v): v is number => typeof v === 'number' && v <= napiVersion,
    );
    if (usable.length === 0) return undefined;
    resolvedPath = modulePath.replaceAll('{napi_build_version}', String(Math.max(...usable)));
  }
  if (/\{[a-z_]+\}/.test(resolvedPath)) return undefined;
  return join(dirname(manifestPath), resolvedPath, `${name}.node`);
}
