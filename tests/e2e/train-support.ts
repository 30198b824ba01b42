import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createStorage } from '@tfmlops/core';
import sharp from 'sharp';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'packages', 'model', 'src', 'cli.ts');

/** Two visually distinct classes of 16x16 gray PNGs: bright top half vs bright bottom half, with varied noise. */
export async function writeImageFolder(root: string, perClass: number): Promise<void> {
  const storage = createStorage();
  for (const [label, name] of ['top', 'bottom'].entries()) {
    for (let i = 0; i < perClass; i += 1) {
      const pixels = Buffer.alloc(16 * 16);
      for (let p = 0; p < pixels.length; p += 1) {
        pixels[p] = (p < 128 === (label === 0) ? 180 : 20) + ((p * 31 + i * 17) % 60);
      }
      const png = await sharp(pixels, { raw: { width: 16, height: 16, channels: 1 } })
        .png()
        .toBuffer();
      await storage.write(join(root, name, `${i}.png`), png);
    }
  }
}

/**
 * A tiny experiment file over the image folder: wasm, one process (data-parallel off), 16x16 gray, small batches.
 * Everything it writes goes under `dir`.
 */
export function writeTinyConfig(dir: string, name: string, extra = ''): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `runtime:
  backend: wasm
  dataParallelWorkers: 0
data:
  source: { kind: imagefolder, path: ${join(dir, 'images')} }
  outputDir: ${join(dir, 'processed')}
  preprocess: { width: 16, height: 16, channels: 1 }
  split: { valFraction: 0.1, testFraction: 0.2 }
train:
  epochs: 2
  batchSize: 8
  outputDir: ${join(dir, 'runs')}
  schedule: { name: cosine, warmupEpochs: 0.5 }
  evaluation: { pictures: false }
export:
  uri: ${join(dir, 'models')}
logging:
  level: info
${extra}`,
  );
  return file;
}

export interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or the signal name when killed by one). */
  exit: Promise<number | string>;
  /** Resolves when stdout contains `text`. */
  waitFor(text: string): Promise<void>;
}

/** Starts `pnpm train ...` as one node process (no pnpm or tsx wrapper in between, so signals reach it). */
export function startCli(args: string[], script = CLI): CliRun {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', WANDB_MODE: 'disabled' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (const waiter of waiters.splice(0)) {
      if (out.includes(waiter.text)) waiter.resolve();
      else waiters.push(waiter);
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exit = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exit,
    waitFor: (text) =>
      new Promise<void>((resolve, reject) => {
        if (out.includes(text)) return resolve();
        waiters.push({ text, resolve });
        void exit.then(() => {
          if (!out.includes(text))
            reject(new Error(`process ended before printing '${text}':\n${out}\n${err}`));
        });
      }),
  };
}
