import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type Storage } from '@tfmlops/core';
import { z } from 'zod';

export const STATE_FILE = 'state.json';
export const SWEEP_COPY_FILE = 'sweep.yaml';

export const TRIAL_STATUSES = ['running', 'finished', 'failed', 'stopped', 'interrupted'] as const;
export type TrialStatus = (typeof TRIAL_STATUSES)[number];

const trialRecordSchema = z.object({
  /** 1-based, zero-padded: trials/<id>/ in the sweep directory. */
  id: string(),
  /** WANDB_RUN_ID of the trial's W&B run (when tracking is on). */
  runId: string(),
  params: z.record(z.string(), z.unknown()),
  status: z.enum(TRIAL_STATUSES),
  /** Why a trial ended early: hyperband, or the user's Ctrl-C. */
  stoppedBy: z.enum(['hyperband', 'user']).nullable(),
  exitCode: z.number().nullable(),
  signal: z.string().nullable(),
  log: string(),
  runDir: z.string().nullable(),
  /** The sweep metric's best value over the trial's epochs and summary (W&B's reading), when it logged any. */
  metric: z.number().nullable(),
  epochs: z.number(),
  testAccuracy: z.number().nullable(),
  modelUri: z.string().nullable(),
  error: z.string().nullable(),
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable(),
});
export type TrialRecord = z.output<typeof trialRecordSchema>;

const sweepStateSchema = z.object({
  formatVersion: z.literal(1),
  id: string(),
  name: string(),
  method: z.enum(['grid', 'random', 'bayes']),
  seed: z.number().int(),
  experimentFile: string(),
  trialCount: z.number().int(),
  status: z.enum(['running', 'finished', 'interrupted']),
  createdAt: string(),
  updatedAt: string(),
  trials: z.array(trialRecordSchema),
});
export type SweepState = z.output<typeof sweepStateSchema>;

function string() {
  return z.string();
}

/** Writes state.json atomically (storage writes are temp file + rename), one write at a time, in call order. */
export function createStateWriter(storage: Storage, dir: string): (state: SweepState) => Promise<void> {
  let chain: Promise<void> = Promise.resolve();
  return (state) => {
    const text = `${JSON.stringify({ ...state, updatedAt: new Date().toISOString() }, null, 2)}\n`;
    chain = chain.then(() => storage.write(join(dir, STATE_FILE), text));
    return chain;
  };
}

/** Reads a sweep directory for `--resume`: its state and the sweep file it ran. */
export function readSweepDir(dir: string): { state: SweepState; sweepFile: string } {
  const statePath = join(dir, STATE_FILE);
  const sweepFile = join(dir, SWEEP_COPY_FILE);
  if (!existsSync(statePath) || !existsSync(sweepFile)) {
    throw new ConfigError(
      `--resume ${dir}: not a sweep directory (no ${STATE_FILE} and ${SWEEP_COPY_FILE})`,
      {
        hint: 'pass the directory a sweep printed at its start, e.g. sweeps/exp1-lr/k3x9q2ab',
      },
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(statePath, 'utf8'));
  } catch (cause) {
    throw new ConfigError(`--resume ${dir}: ${STATE_FILE} is not valid JSON`, {
      cause,
      hint: 'the file is written atomically; was it edited by hand?',
    });
  }
  const parsed = sweepStateSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`--resume ${dir}: ${STATE_FILE} does not match this version's format`, {
      hint: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    });
  }
  return { state: parsed.data, sweepFile };
}
