import { ConfigError } from '@tfmlops/core';
import { z } from 'zod';

/** Environment variables are read once, at the entry point, and passed in as a record. */
export type Environment = Readonly<Record<string, string | undefined>>;

export const DEFAULT_WANDB_PROJECT = 'tfjs-mlops';
export const DEFAULT_WANDB_BASE_URL = 'https://api.wandb.ai';

/** `tracking:` section of an experiment file. The local run directory is always written; this adds W&B. */
export const trackingConfigSchema = z
  .strictObject({
    wandb: z
      .union([z.boolean(), z.literal('auto')])
      .default('auto')
      .describe(
        'Report the run to Weights & Biases. `auto`: when WANDB_API_KEY is set; `true`: always (a missing key is a config error); `false`: never. WANDB_MODE=disabled turns it off, WANDB_MODE=offline keeps the run local for `pnpm track sync`.',
      ),
    project: z
      .string()
      .regex(/^[^/\\#?%:]{1,128}$/, 'a W&B project name: up to 128 characters, none of / \\ # ? % :')
      .optional()
      .describe(`W&B project; WANDB_PROJECT overrides it; default \`${DEFAULT_WANDB_PROJECT}\`.`),
    entity: z
      .string()
      .min(1)
      .optional()
      .describe("W&B entity (user or team); WANDB_ENTITY overrides it; default the API key's own entity."),
    tags: z
      .array(z.string().min(1).max(64))
      .max(32)
      .default([])
      .describe('Tags of the W&B run (the experiment name is always added).'),
    timeoutSeconds: z
      .number()
      .positive()
      .max(600)
      .default(30)
      .describe(
        'Longest wait for W&B: to start the run (in the background; training does not wait) and to flush it at the end. Past it, tracking is marked failed in summary.json and training goes on.',
      ),
  })
  .prefault({});
export type TrackingConfig = z.output<typeof trackingConfigSchema>;
export type TrackingConfigInput = z.input<typeof trackingConfigSchema>;

/** Everything the W&B backend needs, resolved: nothing below this reads the environment. */
export interface WandbSettings {
  apiKey: string;
  /** API server, without a trailing slash (WANDB_BASE_URL, default https://api.wandb.ai). */
  baseUrl: string;
  project: string;
  /** Unset: the entity the server reports for the API key (GraphQL Viewer). */
  entity?: string;
  /** WANDB_RUN_ID; unset: the local run id. */
  runId?: string;
  /** WANDB_SWEEP_ID (set by `wandb agent`): the run is created in that W&B sweep. */
  sweepId?: string;
  /** WANDB_RUN_GROUP: the W&B group the run is created in (the local sweep runner groups its trials). */
  group?: string;
  tags: string[];
  /** Longest wait for the run to start (in the background) before tracking is marked failed. */
  initTimeoutMs: number;
  /** Longest wait at `finish` for the run to flush. */
  finishTimeoutMs: number;
}

/** Whether and how W&B is used, and why (for the log line at start). */
export type WandbResolution =
  | { state: 'online'; why: string; settings: WandbSettings }
  | { state: 'offline'; why: string; project: string; entity?: string; runId?: string }
  | { state: 'off'; why: string };

const MODES = ['online', 'run', 'offline', 'dryrun', 'disabled'] as const;
const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Decides whether a run reports to W&B, from the config's `tracking:` section and the environment: off with
 * WANDB_MODE=disabled or `wandb: false`; else on when `wandb: true`, WANDB_API_KEY is set (with `auto`) or
 * WANDB_MODE=offline asks for an offline run. WANDB_PROJECT / WANDB_ENTITY override the section (as in W&B's own
 * tools), WANDB_RUN_ID names the run, WANDB_SWEEP_ID (from `wandb agent`) and WANDB_RUN_GROUP place it in a sweep and a
 * group, WANDB_BASE_URL picks the server. Bad values are config errors.
 */
export function resolveWandb(section: TrackingConfig, env: Environment): WandbResolution {
  const rawMode = (env.WANDB_MODE ?? '').trim().toLowerCase();
  if (rawMode !== '' && !(MODES as readonly string[]).includes(rawMode)) {
    throw new ConfigError(`WANDB_MODE=${env.WANDB_MODE} is not a W&B mode`, {
      hint: `use one of ${MODES.join(', ')} (or unset it)`,
    });
  }
  const mode = rawMode === 'dryrun' ? 'offline' : rawMode === 'run' ? 'online' : rawMode;
  if (mode === 'disabled') return { state: 'off', why: 'WANDB_MODE=disabled' };
  if (section.wandb === false) return { state: 'off', why: 'tracking.wandb is false' };
  const apiKey = env.WANDB_API_KEY?.trim() || undefined;
  if (section.wandb === 'auto' && !apiKey && mode !== 'offline') {
    return { state: 'off', why: 'tracking.wandb is auto and WANDB_API_KEY is not set' };
  }
  const project = nonEmpty(env.WANDB_PROJECT) ?? section.project ?? DEFAULT_WANDB_PROJECT;
  if (!/^[^/\\#?%:]{1,128}$/.test(project)) {
    throw new ConfigError(`W&B project "${project}" is not a valid project name`, {
      hint: 'up to 128 characters, none of / \\ # ? % : (check WANDB_PROJECT and tracking.project)',
    });
  }
  const entity = nonEmpty(env.WANDB_ENTITY) ?? section.entity;
  const runId = nonEmpty(env.WANDB_RUN_ID);
  if (runId !== undefined && !RUN_ID.test(runId)) {
    throw new ConfigError(`WANDB_RUN_ID=${runId} is not a valid run id`, {
      hint: 'use 1-64 letters, digits, "-" or "_"',
    });
  }
  const sweepId = nonEmpty(env.WANDB_SWEEP_ID);
  if (sweepId !== undefined && !RUN_ID.test(sweepId)) {
    throw new ConfigError(`WANDB_SWEEP_ID=${sweepId} is not a valid sweep id`, {
      hint: '`wandb agent` sets it to the id `wandb sweep` printed; unset it outside a sweep',
    });
  }
  const group = nonEmpty(env.WANDB_RUN_GROUP);
  if (group !== undefined && group.length > 128) {
    throw new ConfigError('WANDB_RUN_GROUP is longer than 128 characters', {
      hint: 'use a shorter group name',
    });
  }
  if (mode === 'offline') {
    return {
      state: 'offline',
      why: `WANDB_MODE=${rawMode}: the run stays in its directory; \`pnpm track sync <run-dir>\` uploads it`,
      project,
      ...(entity ? { entity } : {}),
      ...(runId ? { runId } : {}),
    };
  }
  if (!apiKey) {
    throw new ConfigError('tracking.wandb is true but WANDB_API_KEY is not set', {
      hint: 'export WANDB_API_KEY=<key from https://wandb.ai/authorize>, or set tracking.wandb: false (or WANDB_MODE=offline to sync later)',
    });
  }
  const baseUrl = (nonEmpty(env.WANDB_BASE_URL) ?? DEFAULT_WANDB_BASE_URL).replace(/\/+$/, '');
  if (!URL.canParse(baseUrl) || !/^https?:$/.test(new URL(baseUrl).protocol)) {
    throw new ConfigError(`WANDB_BASE_URL=${baseUrl} is not an http(s) URL`, {
      hint: `unset it for ${DEFAULT_WANDB_BASE_URL}, or give your W&B server's URL`,
    });
  }
  const timeoutMs = Math.round(section.timeoutSeconds * 1000);
  return {
    state: 'online',
    why: section.wandb === true ? 'tracking.wandb is true' : 'WANDB_API_KEY is set',
    settings: {
      apiKey,
      baseUrl,
      project,
      ...(entity ? { entity } : {}),
      ...(runId ? { runId } : {}),
      ...(sweepId ? { sweepId } : {}),
      ...(group ? { group } : {}),
      tags: section.tags,
      initTimeoutMs: timeoutMs,
      finishTimeoutMs: timeoutMs,
    },
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
