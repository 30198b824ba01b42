/**
 * `pnpm bench <name> [args]`: runs one benchmark. Each benchmark lives in bench/<name>/run.ts and exports
 * `run(args)`; it prints a table, writes JSON under bench/results/, and measures a peer (PyTorch, PIL/torchvision)
 * in the same run.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '@tfmlops/core';

const BENCH_DIR = import.meta.dirname;

await runCli(async () => {
  const [name, ...args] = process.argv.slice(2);
  const available = readdirSync(BENCH_DIR).filter((entry) => existsSync(join(BENCH_DIR, entry, 'run.ts')));
  if (!name || !available.includes(name)) {
    process.stderr.write(`usage: pnpm bench <${available.join('|')}> [args]\n`);
    return 2;
  }
  const benchmark = (await import(join(BENCH_DIR, name, 'run.ts'))) as { run(args: string[]): Promise<void> };
  await benchmark.run(args);
});
