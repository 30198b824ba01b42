import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker as NodeWorker, type WorkerOptions } from 'node:worker_threads';
import { BackendWasm, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { BackendError } from '@tfmlops/core';
import { MAX_WASM_THREADS } from '../config.ts';

/** Options for {@link configureWasmBackend}. */
export interface WasmBackendOptions {
  /**
   * XNNPACK worker threads (including the calling thread) for convolutions, matrix products, pooling and
   * element-wise kernels. 1 keeps tfjs's stock single-threaded SIMD build. At most 8 (the build's thread pool).
   */
  threads?: number;
}

const MAX_THREADS = MAX_WASM_THREADS;
const WASM_PRIORITY = 2;
/** Name the Emscripten loader asks for; our Worker class recognises it and runs the pthread script from memory. */
const PTHREAD_SCRIPT = 'tfjs-backend-wasm-threaded-simd.worker.js';

interface EmscriptenModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => number;
  tfjs?: unknown;
}
type ModuleFactory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

/** The part of the WebAssembly JS API we use (the project's lib settings carry no WebAssembly declarations). */
interface WebAssemblyApi {
  instantiate(bytes: Uint8Array, imports: unknown): Promise<{ instance: unknown; module: unknown }>;
}
const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

let configured: number | undefined;

/**
 * Prepares the `wasm` backend to run on `threads` threads in Node. Call it before `tf.setBackend('wasm')`; it
 * replaces the backend's registration, so once the backend has started it refuses a different thread count.
 *
 * tfjs-backend-wasm ships a threaded SIMD build but never loads it in Node: its feature probe returns false there,
 * its loader hands Emscripten browser Blob URLs for the pthread worker and the main script, and the build caps its
 * thread pool at half the logical cores (one thread on a 2-core machine). This function loads that build itself:
 * the pthread worker script runs from memory in a `worker_threads` Worker without the parent's loader flags, the
 * main script is read from disk by path, and the core count the binary sees is set so that the pool gets exactly
 * `threads` threads. Kernels and tensors behave as with the stock backend; only XNNPACK's work is spread.
 *
 * Returns the thread count the backend will use.
 */
export async function configureWasmBackend(options: WasmBackendOptions = {}): Promise<number> {
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new BackendError(
      'BACKEND_WASM_THREADS',
      `wasm threads must be an integer from 1 to ${MAX_THREADS}`,
      {
        hint: `got ${threads}; use runtime.threads between 1 and ${MAX_THREADS}`,
      },
    );
  }
  if (configured === threads) return threads;
  if (wasmStarted()) {
    throw new BackendError(
      'BACKEND_WASM_STARTED',
      `the wasm backend has already started with ${configured ?? 1} thread(s); cannot switch to ${threads}`,
      { hint: 'call configureWasmBackend before the first tf.setBackend("wasm") or tf.ready()' },
    );
  }
  stockFactory ??= registeredFactory();
  if (!stockFactory) {
    throw new BackendError('BACKEND_WASM_MISSING', 'the wasm backend is not registered', {
      hint: "import '@tensorflow/tfjs-backend-wasm' before configuring it",
    });
  }
  const stock = stockFactory;
  tf.removeBackend('wasm');
  setThreadsCount(threads);
  tf.registerBackend(
    'wasm',
    threads === 1
      ? stock
      : async () => {
          const module = await loadThreadedModule(threads);
          // BackendWasm sizes the pool from tfjs's module-level count; set it again in case it changed since.
          setThreadsCount(threads);
          return new BackendWasm(module as unknown as BackendWasm['wasm']);
        },
    WASM_PRIORITY,
  );
  // tfjs's probe answers false in Node; backend selection and `pnpm doctor` read this flag.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', threads > 1);
  configured = threads;
  return threads;
}

/** Thread count set by {@link configureWasmBackend}, or undefined when it has not been called. */
export function configuredWasmThreads(): number | undefined {
  return configured;
}

/**
 * Whether the wasm backend has been initialised. (`tf.findBackend` cannot tell: it starts a registered backend's
 * initialisation as a side effect.)
 */
function wasmStarted(): boolean {
  return 'wasm' in (tf.engine() as unknown as { registry: Record<string, unknown> }).registry;
}

type BackendFactory = () => tf.KernelBackend | Promise<tf.KernelBackend>;
/** tfjs-backend-wasm's own registration (single-threaded SIMD in Node), kept so that `threads: 1` can restore it. */
let stockFactory: BackendFactory | undefined;

function registeredFactory(): BackendFactory | undefined {
  const registry = (
    tf.engine() as unknown as { registryFactory: Record<string, { factory: BackendFactory }> }
  ).registryFactory;
  return registry.wasm?.factory;
}

function wasmPackageFile(relative: string): string {
  return createRequire(import.meta.url).resolve(`@tensorflow/tfjs-backend-wasm/${relative}`);
}

async function loadThreadedModule(threads: number): Promise<EmscriptenModule> {
  const require = createRequire(import.meta.url);
  const mainScript = wasmPackageFile('wasm-out/tfjs-backend-wasm-threaded-simd.js');
  const factory = require(mainScript) as ModuleFactory;
  const { wasmWorkerContents } = require(
    wasmPackageFile('wasm-out/tfjs-backend-wasm-threaded-simd.worker.js'),
  ) as {
    wasmWorkerContents: string;
  };
  // The script is stored in a template literal whose "\n" escapes became real newlines inside string literals.
  installPthreadWorker(wasmWorkerContents.replace(/\n/g, '\\n'));
  const binary = readFileSync(wasmPackageFile('dist/tfjs-backend-wasm-threaded-simd.wasm'));
  let failInstantiation: (error: unknown) => void = () => {};
  const instantiationFailed = new Promise<never>((_, reject) => {
    failInstantiation = reject;
  });
  const module = await Promise.race([
    factory({
      locateFile: (path: string, prefix: string) =>
        path.endsWith('.worker.js') ? PTHREAD_SCRIPT : prefix + path,
      mainScriptUrlOrBlob: mainScript,
      instantiateWasm(
        imports: { env: Record<string, unknown> },
        receive: (instance: unknown, module: unknown) => void,
      ) {
        // The binary sizes its pool as min(requested, logical cores / 2); report twice the request.
        imports.env.emscripten_num_logical_cores = () => threads * 2;
        webAssembly.instantiate(binary, imports).then(
          ({ instance, module }) => receive(instance, module),
          (error: unknown) =>
            failInstantiation(
              new BackendError('BACKEND_WASM_INIT', 'the threaded wasm binary failed to instantiate', {
                cause: error,
              }),
            ),
        );
        return {};
      },
    }),
    instantiationFailed,
  ]);
  const cwrap = module.cwrap.bind(module);
  module.tfjs = {
    init: cwrap('init', null, []),
    initWithThreadsCount: cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: cwrap('get_threads_count', 'number', []),
    registerTensor: cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: cwrap('dispose_data', null, ['number']),
    dispose: cwrap('dispose', null, []),
  };
  return module;
}

/**
 * Emscripten's Node glue assigns `global.Worker = worker_threads.Worker` and then creates its pthread pool with
 * `new Worker(locateFile('...worker.js'))`. We keep `global.Worker` pointing at a subclass that runs our in-memory
 * script for that name, with no inherited `execArgv` (a parent's loader hooks, e.g. tsx's, would be re-run in
 * each of the pool's eight workers), and unreferenced (see `ref` below).
 */
function installPthreadWorker(source: string): void {
  class PthreadWorker extends NodeWorker {
    readonly #poolThread: boolean;
    constructor(filename: string | URL, options?: WorkerOptions) {
      const poolThread = filename === PTHREAD_SCRIPT;
      if (poolThread) super(source, { eval: true, execArgv: [] });
      else super(filename, options);
      this.#poolThread = poolThread;
      if (poolThread) this.unref();
    }
    // Emscripten refs a worker while its pthread runs, and XNNPACK's pool threads run for the life of the
    // backend: they would keep the process alive after the program's own work is done. They never hold work the
    // main thread has not already waited for (it blocks on each parallel kernel), so they stay unreferenced.
    override ref(): void {
      if (!this.#poolThread) super.ref();
    }
  }
  Object.defineProperty(globalThis, 'Worker', {
    configurable: true,
    enumerable: false,
    get: () => PthreadWorker,
    // The glue's own assignment is ignored so that the subclass stays in place.
    set: () => {},
  });
}
