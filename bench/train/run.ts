/**
 * `pnpm bench train [--quick] [--rounds N] [--blas NAMES] [--profile [--engine ID]]`: the product's CNN
 * (`createCnn`) trained and run by each of our TF.js engines and by PyTorch in every configuration worth trying here, in
 * interleaved rounds (every engine in its own child process per round, taking turns). Prints a table of median
 * (min-max) per engine and a verdict per figure (our best against PyTorch's best), writes JSON under
 * bench/results/ and, unless --quick, the table and notes into bench/README.md.
 *
 * `--blas reference,openblas-openmp` limits PyTorch to those BLAS libraries (default: every one installed).
 *
 * It never installs anything: a missing peer prints the command that installs it and its rows are left out.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine, formatMachine, loadNow, startCpuAccounting } from '../lib/machine.ts';
import { aptInstallCommand, DEBIAN_PYTHON, pythonModuleAvailable } from '../lib/python.ts';
import { BENCH_DIR, updateReadmeSection, writeResults } from '../lib/report.ts';
import { type Contender, runJsonChild, runRounds } from '../lib/rounds.ts';
import {
  blasChoices,
  FULL_PROTOCOL,
  OUR_ENGINES,
  QUICK_PROTOCOL,
  type TorchConfig,
  torchConfigId,
  torchConfigLabel,
  torchConfigs,
} from './engines.ts';
import { compareNetworks } from './network.ts';
import { renderTrainReport } from './report.ts';
import type { EngineRow, NetworkDescription, TrainProtocol, TrainSample } from './types.ts';

const ENGINE_SCRIPT = fileURLToPath(new URL('./engine.ts', import.meta.url));
const TORCH_SCRIPT = join(BENCH_DIR, 'peers', 'torch_train.py');
const DEFAULT_ROUNDS = 5;

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
}

/** Runs bench/train/engine.ts with the same Node flags and tsx loader as this process. */
function ourChild<T>(args: string[]): T {
  return runJsonChild<T>(process.execPath, [...process.execArgv, ENGINE_SCRIPT, ...args]);
}

/** PyTorch's environment for one configuration: its BLAS through LD_LIBRARY_PATH, every thread pool sized alike. */
function torchEnv(config: TorchConfig): NodeJS.ProcessEnv {
  const threads = String(config.threads);
  return {
    ...process.env,
    LD_LIBRARY_PATH: config.blas.libraryPath,
    OMP_NUM_THREADS: threads,
    OPENBLAS_NUM_THREADS: threads,
  };
}

interface TorchOutput {
  sample: TrainSample;
  threadsInUse: number;
  torchVersion: string;
  blasLibrary: string;
}

function torchContender(config: TorchConfig, protocol: TrainProtocol): Contender<TrainSample> {
  return {
    id: torchConfigId(config),
    measure: () => {
      const out = runJsonChild<TorchOutput>(
        DEBIAN_PYTHON,
        [
          TORCH_SCRIPT,
          '--threads',
          String(config.threads),
          '--layout',
          config.layout,
          '--protocol',
          JSON.stringify(protocol),
        ],
        torchEnv(config),
      );
      // The row's label names the configuration: check the child really ran it.
      const blasDir = config.blas.libraryPath.split(':')[0]!;
      if (!out.blasLibrary.startsWith(`${blasDir}/`))
        throw new Error(`PyTorch loaded ${out.blasLibrary}, not the ${config.blas.name} BLAS in ${blasDir}`);
      if (out.threadsInUse !== config.threads)
        throw new Error(`PyTorch ran ${out.threadsInUse} threads, not ${config.threads}`);
      return { sample: out.sample };
    },
  };
}

async function profileBest(
  rows: EngineRow[],
): Promise<{ label: string; stepMs: number; rows: Array<[string, number]> }> {
  const singleProcess = rows.filter(
    (r) => r.side === 'ours' && r.samples.length > 0 && OUR_ENGINES[r.id]?.step !== 'data-parallel',
  );
  const median = (r: EngineRow) =>
    [...r.samples.map((s) => s.trainImagesPerSecond)].sort((a, b) => a - b)[
      Math.floor(r.samples.length / 2)
    ]!;
  const best = singleProcess.sort((a, b) => median(b) - median(a))[0];
  return ourChild<{ profile: Awaited<ReturnType<typeof profileBest>> }>([
    '--profile',
    best?.id ?? 'wasm-2t-lean',
  ]).profile;
}

export async function run(args: string[]): Promise<void> {
  if (args.includes('--profile')) {
    const { profile } = ourChild<{
      profile: { label: string; stepMs: number; rows: Array<[string, number]> };
    }>(['--profile', option(args, 'engine') ?? 'wasm-2t-lean']);
    process.stdout.write(`${profile.label}, batch 64: ${profile.stepMs.toFixed(1)} ms per profiled step\n`);
    for (const [name, ms] of profile.rows) process.stdout.write(`  ${name.padEnd(28)} ${ms.toFixed(1)} ms\n`);
    return;
  }
  const quick = args.includes('--quick');
  const rounds = Number(option(args, 'rounds') ?? (quick ? 2 : DEFAULT_ROUNDS));
  if (!(Number.isInteger(rounds) && rounds >= 1))
    throw new RangeError(`--rounds must be a whole number >= 1`);
  const protocol = quick ? QUICK_PROTOCOL : FULL_PROTOCOL;
  const machine = describeMachine();
  const loadAtStart = loadNow();
  const cpuAccounting = startCpuAccounting();
  process.stderr.write(`${formatMachine(machine)}; load average ${loadAtStart.toFixed(2)} at start\n`);

  const hints: string[] = [];
  const { network } = ourChild<{ network: NetworkDescription }>(['--describe']);
  let torchVersion: string | undefined;
  const contenders: Contender<TrainSample>[] = Object.keys(OUR_ENGINES).map((id) => ({
    id,
    measure: () => ourChild([id, JSON.stringify(protocol)]),
  }));
  const configs: TorchConfig[] = [];
  if (pythonModuleAvailable('torch')) {
    const described = runJsonChild<{ network: NetworkDescription; torchVersion: string }>(DEBIAN_PYTHON, [
      TORCH_SCRIPT,
      '--describe',
    ]);
    const differences = compareNetworks(network, described.network);
    if (differences.length > 0)
      throw new Error(`PyTorch's network is not createCnn's:\n  ${differences.join('\n  ')}`);
    torchVersion = described.torchVersion;
    const { installed, missing } = blasChoices();
    const only = option(args, 'blas')?.split(',');
    const unknown = only?.filter((name) => ![...installed, ...missing].some((b) => b.name === name));
    if (unknown?.length)
      throw new RangeError(
        `--blas: unknown ${unknown.join(', ')}; one or more of reference, openblas-openmp, openblas-pthread`,
      );
    if (missing.length > 0)
      hints.push(
        `PyTorch with ${missing.map((b) => b.name).join(', ')} BLAS (not installed); install with: ${aptInstallCommand(missing.map((b) => b.debianPackage))}`,
      );
    const skipped = installed.filter((b) => only && !only.includes(b.name));
    if (skipped.length > 0)
      hints.push(
        `PyTorch with ${skipped.map((b) => b.name).join(', ')} BLAS (installed; left out by --blas)`,
      );
    configs.push(...torchConfigs(installed.filter((b) => !skipped.includes(b))));
    contenders.push(...configs.map((c) => torchContender(c, protocol)));
  } else {
    hints.push(
      `PyTorch (python3-torch is not importable by ${DEBIAN_PYTHON}); install with: ${aptInstallCommand(['python3-torch'])}`,
    );
  }
  for (const hint of hints) process.stderr.write(`left out: ${hint}\n`);

  const outcome = await runRounds(contenders, rounds, (round, id) =>
    process.stderr.write(`round ${round + 1}/${rounds}: ${id} (load ${loadNow().toFixed(2)})\n`),
  );
  const rows: EngineRow[] = [
    ...Object.entries(OUR_ENGINES).map(([id, spec]) => ({
      id,
      label: spec.label,
      side: 'ours' as const,
      samples: outcome.samples.get(id) ?? [],
    })),
    ...configs.map((c) => ({
      id: torchConfigId(c),
      label: torchConfigLabel(c, torchVersion ?? '?'),
      side: 'pytorch' as const,
      samples: outcome.samples.get(torchConfigId(c)) ?? [],
      torch: { threads: c.threads, layout: c.layout, blas: c.blas.name },
    })),
  ];
  const profile = quick ? undefined : await profileBest(rows);
  const load = {
    start: loadAtStart,
    end: loadNow(),
    cores: machine.cores,
    othersCpuShare: cpuAccounting.stop(),
  };
  const date = new Date();
  const unavailable = [...outcome.unavailable.values()];
  const report = renderTrainReport({
    date: date.toISOString(),
    machine,
    load,
    rounds,
    quick,
    protocol,
    network,
    rows,
    unavailable,
    hints,
    profile,
  });
  process.stdout.write(`\n${report.text}\n`);
  const file = writeResults(
    quick ? 'train-quick' : 'train',
    {
      date: date.toISOString(),
      machine,
      loadAverage: load,
      quick,
      rounds,
      protocol,
      network,
      turnOrder: outcome.order,
      engines: rows,
      verdicts: report.verdicts,
      profile,
      unavailable,
      leftOut: hints,
    },
    date,
  );
  process.stdout.write(`results: ${file}\n`);
  if (!quick) {
    updateReadmeSection('train', report.markdown);
    process.stdout.write('bench/README.md updated\n');
  }
}
