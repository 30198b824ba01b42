import { ConfigError } from '@tfmlops/core';
import { BACKEND_PREFERENCES } from '@tfmlops/runtime';
import { z } from 'zod';
import { type DriftConfig, driftConfigSchema } from './drift/config.ts';

const MIB = 1024 * 1024;

const integer = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .meta({ accepts: `whole number, ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}` });

const decimal = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^(\d+\.?\d*|\.\d+)(e-?\d+)?$/i, 'a number')
    .transform(Number)
    .pipe(z.number().min(min).max(max))
    .meta({ accepts: `number, ${min} to ${max}` });

const TRUE = ['true', '1', 'on', 'yes'];
const FALSE = ['false', '0', 'off', 'no'];
const flag = () =>
  z
    .string()
    .trim()
    .toLowerCase()
    .refine(
      (value) => TRUE.includes(value) || FALSE.includes(value),
      `one of ${[...TRUE, ...FALSE].join(', ')}`,
    )
    .transform((value) => TRUE.includes(value))
    .meta({ accepts: `${TRUE.join(' / ')} or ${FALSE.join(' / ')}` });

/** Drift settings in the environment: each optional, its default (and where it comes from) in driftConfigSchema. */
export const DRIFT_ENV = {
  DRIFT_WINDOW_SIZE: ['windowSize', integer(10, 100_000)],
  DRIFT_MIN_SAMPLES: ['minSamples', integer(2, 100_000)],
  DRIFT_KS_P_VALUE: ['ksPValue', decimal(0, 1)],
  DRIFT_CHI_SQUARE_P_VALUE: ['chiSquarePValue', decimal(0, 1)],
  DRIFT_MMD_P_VALUE: ['mmdPValue', decimal(0, 1)],
  DRIFT_MMD_PERMUTATIONS: ['mmdPermutations', integer(10, 10_000)],
  DRIFT_MMD_SAMPLES: ['mmdSamples', integer(10, 2_000)],
} as const;

/**
 * The service's environment, parsed once at the entry point (server.ts). Every variable has a default that works on
 * a laptop after `pnpm train --config configs/exp1.yaml`; Cloud Run sets PORT and the deployment sets MODEL_URI.
 * Each `.describe()` is the variable's line in docs/serve-environment.md (`pnpm docs:env`; a test fails when stale).
 */
export const serveEnvSchema = z.object({
  PORT: integer(0, 65_535).default(8080).describe('Port to listen on (Cloud Run sets it); 0: any free port.'),
  HOST: z.string().min(1).default('0.0.0.0').describe('Interface to listen on.'),
  MODEL_URI: z
    .string()
    .min(1)
    .default('artifacts/models/exp1/latest.json')
    .describe(
      'The model to serve: a bundle directory, its bundle.json, a latest.json pointer or an experiment directory; a local path, file:// or gs://. The default is the pointer `pnpm train --config configs/exp1.yaml` publishes.',
    ),
  MODEL_CACHE_DIR: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Where gs:// bundles are kept after download (verified by SHA-256 on every use); unset: in memory only.',
    ),
  ADMIN_TOKEN: z
    .string()
    .min(16, 'at least 16 characters (it guards model reloads)')
    .meta({ accepts: 'text, at least 16 characters' })
    .optional()
    .describe('Bearer token for POST /admin/reload; unset: the route answers 404.'),
  BODY_LIMIT_BYTES: integer(1024, 1024 * MIB)
    .default(10 * MIB)
    .describe('Largest request body (one image, or all images of a batch request); larger gets 413.'),
  MAX_PIXELS: integer(1, 1_000_000_000)
    .default(25_000_000)
    .describe(
      'Largest image (width x height x frames), read from the header before any decoding (decompression bombs); larger gets 413.',
    ),
  MAX_BATCH: integer(1, 1024)
    .default(32)
    .describe('Most images one micro-batch runs through the network at once.'),
  MAX_BATCH_DELAY_MS: integer(0, 10_000)
    .default(2)
    .describe(
      'How long a queued image may wait for others to join its batch while more are on their way (an image on an idle server runs at once).',
    ),
  MAX_QUEUE: integer(1, 100_000)
    .default(256)
    .describe(
      'Images admitted at once (decoding or waiting for the network); more get 503 with Retry-After.',
    ),
  REQUEST_TIMEOUT_MS: integer(100, 600_000)
    .default(10_000)
    .describe('A prediction not answered within this time gets 503 with Retry-After.'),
  MODEL_POLL_SECONDS: integer(0, 86_400)
    .default(0)
    .describe('Check MODEL_URI for a new bundle every this many seconds and swap it in; 0: no polling.'),
  SHUTDOWN_TIMEOUT_MS: integer(0, 60_000)
    .default(9_000)
    .describe(
      'After SIGTERM, in-flight requests get this long before the process exits anyway (Cloud Run allows 10 s).',
    ),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level (JSON lines with Cloud Logging severity; info logs one line per request).'),
  BACKEND: z
    .enum(BACKEND_PREFERENCES)
    .default('auto')
    .describe('TF.js backend; auto takes native GPU, native CPU, wasm, cpu, the first that starts.'),
  WASM_THREADS: integer(1, 8)
    .default(1)
    .describe('XNNPACK threads of the wasm backend (1 measured best for serving here; see bench/README.md).'),
  SERVE_WORKERS: integer(1, 64)
    .default(1)
    .describe(
      'Processes serving on the port (node:cluster, like `uvicorn --workers`), each with its own model; metrics and drift monitoring are per process.',
    ),
  STORAGE_EMULATOR_HOST: z
    .string()
    .min(1)
    .optional()
    .describe("A GCS emulator's endpoint (tests, local development); unset: real GCS."),
  PREDICTION_LOG_URI: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Where sampled predictions go as batched JSONL (gs://bucket/prefix or a local directory); unset: no logging.',
    ),
  PREDICTION_LOG_SAMPLE_RATE: decimal(0, 1).default(1).describe('Share of answered inputs logged.'),
  PREDICTION_LOG_IMAGES: flag()
    .default(false)
    .describe('Also log each input as a base64 PNG (bytes per record, and may hold personal data).'),
  PREDICTION_LOG_EMBEDDINGS: flag()
    .default(true)
    .describe("Log each input's embedding (what `pnpm monitor report` needs for its embedding test)."),
  PREDICTION_LOG_BATCH_SIZE: integer(1, 100_000).default(500).describe('Records per JSONL object.'),
  PREDICTION_LOG_FLUSH_SECONDS: integer(1, 3600)
    .default(10)
    .describe('A partial batch is written this long after its first record.'),
  PREDICTION_LOG_MAX_BUFFERED: integer(1, 1_000_000)
    .default(10_000)
    .describe(
      'Records held in memory at most (while the bucket is slow or unreachable); beyond it records are dropped and counted.',
    ),
  DRIFT_MONITOR: flag()
    .default(true)
    .describe(
      "Compare live inputs with the bundle's reference statistics (GET /monitoring/drift, drift_* metrics).",
    ),
  DRIFT_INTERVAL_SECONDS: integer(1, 86_400)
    .default(10)
    .describe('How often the drift window is tested (in a worker thread, off the request path).'),
  DRIFT_WINDOW_SIZE: DRIFT_ENV.DRIFT_WINDOW_SIZE[1]
    .optional()
    .describe('Live inputs in the drift window (the most recent ones).'),
  DRIFT_MIN_SAMPLES: DRIFT_ENV.DRIFT_MIN_SAMPLES[1]
    .optional()
    .describe(
      'Inputs the window must hold before drift is tested (below ~100 KS and chi-square have little power).',
    ),
  DRIFT_KS_P_VALUE: DRIFT_ENV.DRIFT_KS_P_VALUE[1]
    .optional()
    .describe(
      "Level of the KS tests (pixel mean and std per channel, confidence), before the Bonferroni division by the number of rows; Evidently's default for numerical columns.",
    ),
  DRIFT_CHI_SQUARE_P_VALUE: DRIFT_ENV.DRIFT_CHI_SQUARE_P_VALUE[1]
    .optional()
    .describe(
      "Level of the chi-square test of the predicted-class distribution, Bonferroni-divided; Evidently's default for categorical columns.",
    ),
  DRIFT_MMD_P_VALUE: DRIFT_ENV.DRIFT_MMD_P_VALUE[1]
    .optional()
    .describe(
      "Level of the embedding MMD permutation test (RBF kernel, median heuristic), Bonferroni-divided; alibi-detect's MMDDrift default `p_val`.",
    ),
  DRIFT_MMD_PERMUTATIONS: DRIFT_ENV.DRIFT_MMD_PERMUTATIONS[1]
    .optional()
    .describe('Permutations of the MMD test (its smallest p-value is 1 / (permutations + 1)).'),
  DRIFT_MMD_SAMPLES: DRIFT_ENV.DRIFT_MMD_SAMPLES[1]
    .optional()
    .describe('Embeddings per side in the MMD test (bounds its O(n²) cost).'),
  K_REVISION: z
    .string()
    .min(1)
    .optional()
    .describe("Cloud Run's revision name (Cloud Run sets it): names this instance's prediction log objects."),
});

export type ServeEnv = z.output<typeof serveEnvSchema>;

/** The typed configuration every part of the service receives (nothing below server.ts reads the environment). */
export interface ServeConfig {
  port: number;
  host: string;
  modelUri: string;
  modelCacheDir: string | undefined;
  adminToken: string | undefined;
  bodyLimitBytes: number;
  maxPixels: number;
  maxBatch: number;
  maxBatchDelayMs: number;
  maxQueue: number;
  requestTimeoutMs: number;
  modelPollSeconds: number;
  shutdownTimeoutMs: number;
  logLevel: ServeEnv['LOG_LEVEL'];
  backend: ServeEnv['BACKEND'];
  wasmThreads: number;
  workers: number;
  storageEmulatorHost: string | undefined;
  predictionLog: PredictionLogConfig;
  drift: DriftMonitorConfig;
  /** Cloud Run revision (K_REVISION), if any. */
  revision: string | undefined;
}

export interface PredictionLogConfig {
  /** Unset: prediction logging is off. */
  uri: string | undefined;
  sampleRate: number;
  images: boolean;
  embeddings: boolean;
  batchSize: number;
  flushIntervalMs: number;
  maxBuffered: number;
}

export interface DriftMonitorConfig {
  enabled: boolean;
  intervalMs: number;
  /** Window and thresholds (defaults and their sources in driftConfigSchema). */
  settings: DriftConfig;
}

/**
 * Parses the environment into a {@link ServeConfig}. Empty strings count as unset (a common result of templated
 * deployments). Every problem is reported at once as a ConfigError naming the variable.
 */
export function parseServeConfig(env: Readonly<Record<string, string | undefined>>): ServeConfig {
  const present = Object.fromEntries(
    Object.keys(serveEnvSchema.shape)
      .map((key) => [key, env[key]] as const)
      .filter(([, value]) => value !== undefined && value.trim() !== ''),
  );
  const parsed = serveEnvSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '(environment)');
      const value = present[name];
      const shown = name === 'ADMIN_TOKEN' ? '(hidden)' : JSON.stringify(value);
      return `  ${name}=${shown}: ${issue.message}`;
    });
    throw new ConfigError(`invalid environment for the inference service:\n${lines.join('\n')}`, {
      hint: 'fix or unset the variables above; every variable has a default (docs/serve-environment.md lists them)',
    });
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    modelUri: e.MODEL_URI,
    modelCacheDir: e.MODEL_CACHE_DIR,
    adminToken: e.ADMIN_TOKEN,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    maxPixels: e.MAX_PIXELS,
    maxBatch: e.MAX_BATCH,
    maxBatchDelayMs: e.MAX_BATCH_DELAY_MS,
    maxQueue: e.MAX_QUEUE,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    modelPollSeconds: e.MODEL_POLL_SECONDS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
    backend: e.BACKEND,
    wasmThreads: e.WASM_THREADS,
    workers: e.SERVE_WORKERS,
    storageEmulatorHost: e.STORAGE_EMULATOR_HOST,
    predictionLog: {
      uri: e.PREDICTION_LOG_URI,
      sampleRate: e.PREDICTION_LOG_SAMPLE_RATE,
      images: e.PREDICTION_LOG_IMAGES,
      embeddings: e.PREDICTION_LOG_EMBEDDINGS,
      batchSize: e.PREDICTION_LOG_BATCH_SIZE,
      flushIntervalMs: e.PREDICTION_LOG_FLUSH_SECONDS * 1000,
      maxBuffered: e.PREDICTION_LOG_MAX_BUFFERED,
    },
    drift: {
      enabled: e.DRIFT_MONITOR,
      intervalMs: e.DRIFT_INTERVAL_SECONDS * 1000,
      settings: driftSettings(e),
    },
    revision: e.K_REVISION,
  };
}

/** The drift settings the environment sets, over driftConfigSchema's defaults; contradictions are a ConfigError. */
function driftSettings(env: ServeEnv): DriftConfig {
  const set = Object.fromEntries(
    Object.entries(DRIFT_ENV)
      .map(([name, [key]]) => [key, env[name as keyof typeof DRIFT_ENV]] as const)
      .filter(([, value]) => value !== undefined),
  );
  const parsed = driftConfigSchema.safeParse(set);
  if (!parsed.success) {
    throw new ConfigError(
      `invalid drift settings: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
      { hint: 'see the DRIFT_* variables in docs/serve-environment.md' },
    );
  }
  if (parsed.data.minSamples > parsed.data.windowSize) {
    throw new ConfigError(
      `DRIFT_MIN_SAMPLES=${parsed.data.minSamples} is larger than DRIFT_WINDOW_SIZE=${parsed.data.windowSize}: drift would never be tested`,
      { hint: 'make DRIFT_MIN_SAMPLES at most DRIFT_WINDOW_SIZE' },
    );
  }
  return parsed.data;
}

/** The defaults, for tests and embedders that build a config without an environment. */
export function defaultServeConfig(overrides: Partial<ServeConfig> = {}): ServeConfig {
  return { ...parseServeConfig({}), ...overrides };
}
