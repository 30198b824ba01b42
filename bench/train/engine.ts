/**
 * Child process of `pnpm bench train`: measures one engine (bench/train/engines.ts) and prints one JSON line,
 * `{"result": ...}` or `{"unavailable": "..."}`. A process per engine gives each its own wasm module and thread
 * count (fixed once the backend starts) and keeps one engine's JIT and heap state out of the next measurement.
 */
import { configureWasmBackend, realMachineProbes, selectBackend } from '@tfmlops/runtime';
import { ENGINES } from './engines.ts';
import { measureCurrentBackend, referenceCnn } from './measure.ts';
import { profileTrainingStep } from './profile.ts';

const [id, mode] = process.argv.slice(2);
const spec = id ? ENGINES[id] : undefined;
if (!spec) {
  process.stderr.write(`unknown engine ${id}; one of ${Object.keys(ENGINES).join(', ')}\n`);
  process.exit(2);
}
const quick = mode === '--quick';
try {
  if (spec.backend === 'wasm') await configureWasmBackend({ threads: spec.threads ?? 1 });
  await selectBackend({ backend: spec.backend }, { probes: realMachineProbes({}) });
} catch (error) {
  process.stdout.write(
    `${JSON.stringify({ unavailable: `${spec.backend}: ${(error as Error).message}` })}\n`,
  );
  process.exit(0);
}
if (mode === '--profile') {
  const profile = await profileTrainingStep(referenceCnn(), spec.step);
  process.stdout.write(`${JSON.stringify({ profile: { label: spec.label, ...profile } })}\n`);
  process.exit(0);
}
const result = await measureCurrentBackend(spec.label, {
  trainSteps: quick ? Math.min(spec.trainSteps, 5) : spec.trainSteps,
  latencyRuns: quick ? 20 : spec.latencyRuns,
  step: spec.step,
  dataParallelWorkers: spec.workers ?? 0,
});
process.stdout.write(`${JSON.stringify({ result })}\n`);
// The threaded wasm build's worker pool is unref'd, but data-parallel workers may hold the loop open.
process.exit(0);
