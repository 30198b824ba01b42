export * from './cli-runner.ts';
export * from './config/index.ts';
export * from './errors.ts';
export { sha256Hex } from './hash.ts';
export * from './logger.ts';
export * from './logging-config.ts';
export { createRandom, deriveSeed, type Random, shuffleInPlace } from './random.ts';
export * from './storage/index.ts';
export { startModuleWorker } from './workers/start-worker.ts';
