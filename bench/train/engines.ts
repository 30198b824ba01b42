import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { StepKind } from './measure.ts';
import type { TrainProtocol } from './types.ts';

/** A full run: enough steps that a round takes seconds, not milliseconds, per engine. */
export const FULL_PROTOCOL: TrainProtocol = {
  batch: 64,
  warmupSteps: 5,
  trainSteps: 40,
  inferWarmup: 3,
  inferRuns: 12,
  latencyWarmup: 20,
  latencyRuns: 300,
};

/** `--quick`: a smoke run of every path, figures meaningless. */
export const QUICK_PROTOCOL: TrainProtocol = {
  batch: 64,
  warmupSteps: 1,
  trainSteps: 3,
  inferWarmup: 1,
  inferRuns: 2,
  latencyWarmup: 2,
  latencyRuns: 20,
};

/** One of our configurations; each runs in its own child process (bench/train/engine.ts). */
export interface OurEngine {
  label: string;
  backend: 'wasm' | 'tensorflow';
  /** wasm threads, set with configureWasmBackend before the backend starts. */
  threads?: number;
  /**
   * `lean`: createTrainStep + FusedAdam (`pnpm train` on one process); `minimize`: tf.train.adam's minimize (plain
   * TF.js); `data-parallel`: DataParallelTrainer with `workers` worker threads.
   */
  step: StepKind;
  workers?: number;
}

/**
 * Our configurations. TF.js's pure-JS cpu backend is left out: it trains this network at a few images per second,
 * and a round of it would take longer than all the others together.
 */
export const OUR_ENGINES: Record<string, OurEngine> = {
  'wasm-2t-lean': {
    label: 'tfjs wasm, 2 threads, train step + fused Adam',
    backend: 'wasm',
    threads: 2,
    step: 'lean',
  },
  'wasm-1t-lean': {
    label: 'tfjs wasm, 1 thread, train step + fused Adam',
    backend: 'wasm',
    threads: 1,
    step: 'lean',
  },
  'wasm-1t-minimize': {
    label: 'tfjs wasm, 1 thread, optimizer.minimize',
    backend: 'wasm',
    threads: 1,
    step: 'minimize',
  },
  'wasm-dp': {
    label: 'tfjs wasm, 1 thread + 1 data-parallel worker, tf.train.adam',
    backend: 'wasm',
    threads: 1,
    step: 'data-parallel',
    workers: 1,
  },
  tensorflow: { label: 'tfjs-node (native TensorFlow, CPU)', backend: 'tensorflow', step: 'lean' },
};

/** A BLAS library PyTorch's Linear layers can use: Debian ships each in its own directory. */
export interface Blas {
  name: 'reference' | 'openblas-openmp' | 'openblas-pthread';
  /** LD_LIBRARY_PATH for the peer, so it loads this libblas.so.3 whatever the system's alternative says. */
  libraryPath: string;
  /** The Debian package providing it. */
  debianPackage: string;
}

export interface TorchConfig {
  threads: 1 | 2;
  layout: 'contiguous' | 'channels_last';
  blas: Blas;
}

/** Debian's multiarch directory for this machine. */
function multiarchDir(): string {
  const triplet = process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
  return `/usr/lib/${triplet}`;
}

/**
 * The BLAS libraries to try PyTorch with, those installed and those not. Debian's torch calls whatever
 * libblas.so.3 resolves to for its Linear layers (its oneDNN covers the convolutions); the reference BLAS
 * python3-torch pulls in is unoptimised Fortran, so OpenBLAS is part of PyTorch's best configuration here.
 */
export function blasChoices(exists: (path: string) => boolean = existsSync): {
  installed: Blas[];
  missing: Blas[];
} {
  const lib = multiarchDir();
  const all: Array<Blas & { probe: string }> = [
    {
      name: 'reference',
      libraryPath: `${join(lib, 'blas')}:${join(lib, 'lapack')}`,
      debianPackage: 'libblas3',
      probe: join(lib, 'blas', 'libblas.so.3'),
    },
    {
      name: 'openblas-openmp',
      libraryPath: join(lib, 'openblas-openmp'),
      debianPackage: 'libopenblas0-openmp',
      probe: join(lib, 'openblas-openmp', 'libblas.so.3'),
    },
    {
      name: 'openblas-pthread',
      libraryPath: join(lib, 'openblas-pthread'),
      debianPackage: 'libopenblas0-pthread',
      probe: join(lib, 'openblas-pthread', 'libblas.so.3'),
    },
  ];
  const strip = ({ probe: _, ...blas }: Blas & { probe: string }): Blas => blas;
  return {
    installed: all.filter((b) => exists(b.probe)).map(strip),
    missing: all.filter((b) => !exists(b.probe)).map(strip),
  };
}

/** Every PyTorch configuration: threads 1 and 2 x contiguous and channels_last x each installed BLAS. */
export function torchConfigs(blas: Blas[]): TorchConfig[] {
  return blas.flatMap((b) =>
    ([1, 2] as const).flatMap((threads) =>
      (['contiguous', 'channels_last'] as const).map((layout) => ({ threads, layout, blas: b })),
    ),
  );
}

export const torchConfigId = (c: TorchConfig) => `torch-${c.threads}t-${c.layout}-${c.blas.name}`;
export const torchConfigLabel = (c: TorchConfig, version: string) =>
  `pytorch ${version}, ${c.threads} thread${c.threads > 1 ? 's' : ''}, ${c.layout === 'channels_last' ? 'channels_last' : 'contiguous'}, ${c.blas.name === 'reference' ? 'reference BLAS' : c.blas.name.replace('openblas', 'OpenBLAS')}`;
