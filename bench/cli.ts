/**
 * `pnpm bench <name> [args]`: runs one benchmark. Each benchmark lives in bench/<name>/run.ts, prints a table,
 * writes JSON under bench/results/, and measures a peer (PyTorch, PIL/torchvision, FastAPI) in the same run.
 */
import { runCli } from '@tfmlops/core';

const BENCHMARKS: Record<string, () => Promise<{ run(args: string[]): Promise<void> }>> = {
  train: () => import('./train/run.ts'),
  data: () => import('./data/run.ts'),
};

await runCli(async () => {
  const [name, ...args] = process.argv.slice(2);
  const load = name ? BENCHMARKS[name] : undefined;
  if (!load) {
    process.stderr.write(`usage: pnpm bench <${Object.keys(BENCHMARKS).join('|')}> [args]\n`);
    return 2;
  }
  const benchmark = await load();
  await benchmark.run(args);
});
