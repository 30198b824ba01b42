/**
 * `pnpm bench data [--quick] [--rounds N] [--images N]`: an image folder of N generated 256x256 JPEGs (made once
 * under .cache/, outside git) resized to 64x64 RGB with a centre crop by our pipeline (sharp) and by PIL +
 * torchvision (DataLoader with 0, 1 and 2 workers), plus full `prepareDataset` runs of the folder and of MNIST, in
 * interleaved rounds (every contender in its own child process per round, taking turns). Prints median (min-max),
 * a verdict against PIL's best configuration and notes from the run's own figures; JSON under bench/results/ and,
 * unless --quick, the section in bench/README.md.
 *
 * It never installs anything: a missing peer prints the command that installs it and its rows are left out.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine, formatMachine, loadNow, startCpuAccounting } from '../lib/machine.ts';
import { aptInstallCommand, DEBIAN_PYTHON, pythonModuleAvailable } from '../lib/python.ts';
import { BENCH_DIR, updateReadmeSection, writeResults } from '../lib/report.ts';
import { type Contender, runJsonChild, runRounds } from '../lib/rounds.ts';
import { listImages } from './files.ts';
import { ensureImageFolder } from './generate.ts';
import { renderDataReport } from './report.ts';
import type { DataRow, DataSample } from './types.ts';

const ENGINE_SCRIPT = fileURLToPath(new URL('./engine.ts', import.meta.url));
const PEER_SCRIPT = join(BENCH_DIR, 'data', 'peer_pil.py');
const SOURCE_SIZE = 256;
const TARGET = 64;
const PIL_WORKERS = [0, 1, 2];
const DEFAULT_ROUNDS = 5;

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
}

function positiveInteger(value: string | undefined, name: string, fallback: number): number {
  const n = value === undefined ? fallback : Number(value);
  if (!(Number.isInteger(n) && n >= 1))
    throw new RangeError(`--${name} must be a whole number >= 1, got ${value}`);
  return n;
}

const ourChild = (args: string[]) =>
  runJsonChild<{ sample: DataSample }>(process.execPath, [...process.execArgv, ENGINE_SCRIPT, ...args]);

export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const rounds = positiveInteger(option(args, 'rounds'), 'rounds', quick ? 2 : DEFAULT_ROUNDS);
  const count = positiveInteger(option(args, 'images'), 'images', quick ? 300 : 10_000);
  const concurrency = availableParallelism() * 2;
  const machine = describeMachine();
  const loadAtStart = loadNow();
  const cpuAccounting = startCpuAccounting();
  process.stderr.write(`${formatMachine(machine)}; load average ${loadAtStart.toFixed(2)} at start\n`);
  const dir = await ensureImageFolder(join(BENCH_DIR, '..', '.cache', 'bench-data'), count, SOURCE_SIZE);
  const files = await listImages(dir);
  // Warm the page cache once so that no contender pays for the first read from disk.
  for (const file of files) await readFile(file);

  const hints: string[] = [];
  const rows: DataRow[] = [
    {
      id: 'ours-preprocess',
      label: `tfmlops preprocessImage (sharp), ${concurrency} in flight`,
      task: `read + decode + resize/crop ${SOURCE_SIZE}->${TARGET} RGB, uint8`,
      kind: 'ours-preprocess',
      samples: [],
      images: files.length,
    },
  ];
  const contenders: Contender<DataSample>[] = [
    {
      id: 'ours-preprocess',
      measure: () => ourChild(['preprocess', dir, String(TARGET), String(concurrency)]),
    },
  ];
  if (pythonModuleAvailable('torchvision') && pythonModuleAvailable('PIL')) {
    for (const workers of PIL_WORKERS) {
      const id = `pil-w${workers}`;
      const row: DataRow = {
        id,
        label: `PIL + torchvision, DataLoader ${workers} worker${workers === 1 ? '' : 's'}`,
        task: `read + decode + Resize(${TARGET}) + CenterCrop(${TARGET}) + PILToTensor, uint8`,
        kind: 'pil',
        samples: [],
        images: files.length,
      };
      rows.push(row);
      contenders.push({
        id,
        measure: () => {
          const out = runJsonChild<{ sample: DataSample; engine: string; images: number }>(DEBIAN_PYTHON, [
            PEER_SCRIPT,
            dir,
            String(TARGET),
            String(workers),
            '200',
          ]);
          if (out.images !== files.length)
            throw new Error(`the PIL peer saw ${out.images} images, not ${files.length}`);
          row.label = `${out.engine}, DataLoader ${workers} worker${workers === 1 ? '' : 's'}`;
          return { sample: out.sample };
        },
      });
    }
  } else {
    hints.push(
      `PIL + torchvision (not importable by ${DEBIAN_PYTHON}); install with: ${aptInstallCommand(['python3-torchvision', 'python3-pil'])}`,
    );
  }
  rows.push(
    {
      id: 'prepare-imagefolder',
      label: 'tfmlops prepareDataset (imagefolder)',
      task: 'list + fingerprint + split + preprocess + shard + SHA-256 + publish',
      kind: 'prepare-imagefolder',
      samples: [],
      images: files.length,
    },
    {
      id: 'prepare-mnist',
      label: 'tfmlops prepareDataset (mnist, 70,000 28x28)',
      task: 'load IDX + split + shard + SHA-256 + publish',
      kind: 'prepare-mnist',
      samples: [],
      images: 70_000,
    },
  );
  contenders.push(
    { id: 'prepare-imagefolder', measure: () => ourChild(['prepare-imagefolder', dir, String(TARGET)]) },
    { id: 'prepare-mnist', measure: () => ourChild(['prepare-mnist']) },
  );
  for (const hint of hints) process.stderr.write(`left out: ${hint}\n`);

  const outcome = await runRounds(contenders, rounds, (round, id) =>
    process.stderr.write(`round ${round + 1}/${rounds}: ${id} (load ${loadNow().toFixed(2)})\n`),
  );
  for (const row of rows) row.samples = outcome.samples.get(row.id) ?? [];
  const load = {
    start: loadAtStart,
    end: loadNow(),
    cores: machine.cores,
    othersCpuShare: cpuAccounting.stop(),
  };
  const date = new Date();
  const report = renderDataReport({
    date: date.toISOString(),
    machine,
    load,
    rounds,
    quick,
    images: files.length,
    sourceSize: SOURCE_SIZE,
    targetSize: TARGET,
    concurrency,
    rows,
    hints,
  });
  process.stdout.write(`\n${report.text}\n`);
  const file = writeResults(
    quick ? 'data-quick' : 'data',
    {
      date: date.toISOString(),
      machine,
      loadAverage: load,
      quick,
      rounds,
      images: files.length,
      sourceSize: SOURCE_SIZE,
      targetSize: TARGET,
      concurrency,
      turnOrder: outcome.order,
      rows,
      verdict: report.verdict ?? null,
      leftOut: hints,
    },
    date,
  );
  process.stdout.write(`results: ${file}\n`);
  if (!quick) {
    updateReadmeSection('data', report.markdown);
    process.stdout.write('bench/README.md updated\n');
  }
}
