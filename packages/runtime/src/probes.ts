import { execFile } from 'node:child_process';

export interface CommandResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/**
 * Everything the runtime asks of the machine goes through here, so tests can stand in for a GPU machine by faking
 * only these answers (module lookups and command output) while the math runs on a real backend.
 */
export interface MachineProbes {
  /** Dynamic import of an optional package (tfjs-node, tfjs-node-gpu). */
  loadModule(name: string): Promise<unknown>;
  /** Runs a command without a shell; never throws. */
  runCommand(command: string, args: string[]): Promise<CommandResult>;
  /** Environment variables (LD_LIBRARY_PATH, CUDA_CACHE_PATH...), passed in from the entry point. */
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * The probes of the machine this process runs on. `env` is the environment the entry point passes in; library code
 * never reads the environment itself. Optional packages are imported from packages/runtime, where they are declared.
 */
export function realMachineProbes(env: Readonly<Record<string, string | undefined>>): MachineProbes {
  return {
    loadModule: (name) => import(name),
    runCommand: (command, args) =>
      new Promise((resolve) => {
        execFile(command, args, { timeout: 10_000 }, (error, stdout, stderr) =>
          resolve({ ok: !error, stdout: String(stdout), stderr: String(stderr || (error?.message ?? '')) }),
        );
      }),
    env,
  };
}
