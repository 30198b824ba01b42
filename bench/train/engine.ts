/**
 * Child process of `pnpm bench train`: measures one of our engines (bench/train/engines.ts) and prints one JSON line,
 * `{"sample": ...}` or `{"unavailable": "..."}`. A process per engine and round gives each its own wasm module and
 * thread count (fixed once the backend starts) and keeps one engine's JIT and heap state out of the next.
 *
 *   tsx bench/train/engine.ts <engine-id> '<protocol json>'
 *   tsx bench/train/engine.ts --describe          (the network, for the check against PyTorch's)
 *   tsx bench/train/engine.ts --profile <engine-id>
 */
import { configureWasmBackend, realMachineProbes, selectBackend } from '@tfmlops/runtime';
import { OUR_ENGINES } from './engines.ts';
import { benchNetwork, measureCurrentBackend } from './measure.ts';
import { describeLayersModel } from './network.ts';
import { profileTrainingStep } from './profile.ts';
import type { TrainProtocol } from './types.ts';

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
const [first, second] = process.argv.slice(2);

if (first === '--describe') {
  await selectBackend({ backend: 'wasm' }, { probes: realMachineProbes({}) });
  const model = benchNetwork();
  print({ network: describeLayersModel(model) });
  model.dispose();
  process.exit(0);
}

const id = first === '--profile' ? second : first;
const spec = id ? OUR_ENGINES[id] : undefined;
if (!spec) {
  process.stderr.write(`unknown engine ${id}; one of ${Object.keys(OUR_ENGINES).join(', ')}\n`);
  process.exit(2);
}
try {
  if (spec.backend === 'wasm') await configureWasmBackend({ threads: spec.threads ?? 1 });
  await selectBackend({ backend: spec.backend }, { probes: realMachineProbes({}) });
} catch (error) {
  print({ unavailable: `${spec.label}: ${(error as Error).message}` });
  process.exit(0);
}
if (first === '--profile') {
  if (spec.step === 'data-parallel')
    throw new Error('tf.profile sees only the main thread; profile another engine');
  print({ profile: { label: spec.label, ...(await profileTrainingStep(benchNetwork(), spec.step)) } });
} else {
  const protocol = JSON.parse(second ?? '') as TrainProtocol;
  print({ sample: await measureCurrentBackend(protocol, spec.step, spec.workers ?? 0) });
}
// The threaded wasm build's worker pool is unref'd, but data-parallel workers may hold the loop open.
process.exit(0);
