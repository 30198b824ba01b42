/** The configurations `pnpm bench train` measures, by id; each runs in its own child process (see engine.ts). */
export interface EngineSpec {
  /** Row label in the table. */
  label: string;
  backend: 'wasm' | 'cpu' | 'tensorflow';
  /** wasm threads, set with configureWasmBackend before the backend starts. */
  threads?: number;
  /** `minimize`: optimizer.minimize + tf.train.adam (what a plain tfjs user writes); `lean`: createTrainStep + FusedAdam. */
  step: 'minimize' | 'lean';
  /** DataParallelTrainer worker threads (each with its own single-threaded wasm backend). */
  workers?: number;
  trainSteps: number;
  latencyRuns: number;
  /** Rounds in a full run (the median round is reported); slow engines run once. */
  rounds: number;
}

export const ENGINES: Record<string, EngineSpec> = {
  tensorflow: {
    label: 'tfjs tensorflow (tfjs-node)',
    backend: 'tensorflow',
    step: 'minimize',
    trainSteps: 40,
    latencyRuns: 200,
    rounds: 3,
  },
  'wasm-2t-lean': {
    label: 'tfjs wasm, 2 threads, train step + fused Adam',
    backend: 'wasm',
    threads: 2,
    step: 'lean',
    trainSteps: 40,
    latencyRuns: 200,
    rounds: 3,
  },
  'wasm-1t-lean': {
    label: 'tfjs wasm, 1 thread, train step + fused Adam',
    backend: 'wasm',
    threads: 1,
    step: 'lean',
    trainSteps: 40,
    latencyRuns: 200,
    rounds: 3,
  },
  'wasm-1t': {
    label: 'tfjs wasm, 1 thread, optimizer.minimize',
    backend: 'wasm',
    threads: 1,
    step: 'minimize',
    trainSteps: 40,
    latencyRuns: 200,
    rounds: 3,
  },
  'wasm-dp': {
    label: 'tfjs wasm, 1 thread + 1 data-parallel worker',
    backend: 'wasm',
    threads: 1,
    step: 'minimize',
    workers: 1,
    trainSteps: 40,
    latencyRuns: 200,
    rounds: 3,
  },
  cpu: { label: 'tfjs cpu', backend: 'cpu', step: 'minimize', trainSteps: 2, latencyRuns: 10, rounds: 1 },
};
