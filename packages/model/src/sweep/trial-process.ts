import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface TrialExit {
  /** The direct child's exit code (the trial's `command`, e.g. `node --import tsx ... train`), or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The process could not be started (e.g. the program is not on PATH). */
  spawnError?: string;
}

export interface TrialProcess {
  pid: number | undefined;
  /** Resolves once every process of the trial has closed its output (the whole process group, not only pnpm). */
  done: Promise<TrialExit>;
  /** SIGTERM to the trial's process group (`pnpm train` writes a checkpoint and exits 143); SIGKILL after `graceMs`. */
  stop(): void;
}

export interface StartTrialOptions {
  argv: readonly string[];
  env: Record<string, string>;
  cwd: string;
  /** stdout and stderr of the trial, appended. */
  logFile: string;
  /** How long a stopped trial may take to checkpoint before it is killed (W&B's agent waits 30 s). */
  graceMs?: number;
}

/**
 * Starts one trial as its own process group, the way the W&B agent does (`setpgrp`): Ctrl-C at the terminal reaches
 * only the sweep, which then stops each trial itself, and a stop signal reaches every process of the trial. That
 * matters because `pnpm` does not forward SIGTERM to its script: signalling pnpm alone would orphan the training.
 */
export function startTrialProcess(options: StartTrialOptions): TrialProcess {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  log.write(`$ ${options.argv.map(shellQuote).join(' ')}\n`);
  const [command, ...args] = options.argv;
  const child = spawn(command!, args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  let killTimer: NodeJS.Timeout | undefined;
  let exited = false;
  const signalGroup = (signal: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // The group is gone already.
    }
  };
  const done = new Promise<TrialExit>((resolve) => {
    let exit: TrialExit = { code: null, signal: null };
    child.on('error', (error) => {
      exit = { code: null, signal: null, spawnError: error.message };
      if (child.pid === undefined) finish();
    });
    child.on('exit', (code, signal) => {
      exit = { ...exit, code, signal };
    });
    // 'close' waits for the pipes, which grandchildren (tsx, node) hold until they exit too.
    child.on('close', () => finish());
    function finish() {
      if (exited) return;
      exited = true;
      if (killTimer) clearTimeout(killTimer);
      const line = exit.spawnError
        ? `\n[sweep] could not start: ${exit.spawnError}\n`
        : `\n[sweep] exited with ${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}\n`;
      log.end(line, () => resolve(exit));
    }
  });
  return {
    pid: child.pid,
    done,
    stop() {
      if (exited) return;
      signalGroup('SIGTERM');
      if (!killTimer) {
        killTimer = setTimeout(() => signalGroup('SIGKILL'), options.graceMs ?? 30_000);
        killTimer.unref();
      }
    },
  };
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
