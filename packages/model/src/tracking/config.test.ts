import { describe, expect, it } from 'vitest';
import { resolveWandb, trackingConfigSchema } from './config.ts';

const section = (input: Record<string, unknown> = {}) => trackingConfigSchema.parse(input);
const KEY = 'k'.repeat(40);

describe('resolveWandb', () => {
  it('is off by default, on with WANDB_API_KEY (auto) and with wandb: true', () => {
    expect(resolveWandb(section(), {})).toEqual({
      state: 'off',
      why: 'tracking.wandb is auto and WANDB_API_KEY is not set',
    });
    const auto = resolveWandb(section({ tags: ['a'] }), { WANDB_API_KEY: KEY });
    expect(auto).toMatchObject({
      state: 'online',
      why: 'WANDB_API_KEY is set',
      settings: {
        apiKey: KEY,
        baseUrl: 'https://api.wandb.ai',
        project: 'tfjs-mlops',
        tags: ['a'],
        initTimeoutMs: 30_000,
      },
    });
    expect(resolveWandb(section({ wandb: true }), { WANDB_API_KEY: KEY }).state).toBe('online');
  });

  it('is off with WANDB_MODE=disabled or wandb: false, whatever else is set', () => {
    expect(resolveWandb(section({ wandb: true }), { WANDB_API_KEY: KEY, WANDB_MODE: 'disabled' })).toEqual({
      state: 'off',
      why: 'WANDB_MODE=disabled',
    });
    expect(resolveWandb(section({ wandb: false }), { WANDB_API_KEY: KEY })).toEqual({
      state: 'off',
      why: 'tracking.wandb is false',
    });
  });

  it('keeps an offline run local (no key needed) and lets the environment override project, entity and run id', () => {
    expect(
      resolveWandb(section({ project: 'from-config' }), {
        WANDB_MODE: 'offline',
        WANDB_PROJECT: 'from-env',
        WANDB_RUN_ID: 'run-7',
      }),
    ).toMatchObject({ state: 'offline', project: 'from-env', runId: 'run-7' });
    const online = resolveWandb(section({ project: 'p', entity: 'team' }), {
      WANDB_API_KEY: KEY,
      WANDB_ENTITY: 'me',
      WANDB_BASE_URL: 'http://127.0.0.1:8080/',
    });
    expect(online).toMatchObject({
      settings: { project: 'p', entity: 'me', baseUrl: 'http://127.0.0.1:8080' },
    });
  });

  it('puts the run in the sweep and group the environment names (wandb agent sets WANDB_SWEEP_ID)', () => {
    expect(
      resolveWandb(section(), { WANDB_API_KEY: KEY, WANDB_SWEEP_ID: 'swp12345', WANDB_RUN_GROUP: 'g 1' }),
    ).toMatchObject({ state: 'online', settings: { sweepId: 'swp12345', group: 'g 1' } });
    const plain = resolveWandb(section(), { WANDB_API_KEY: KEY });
    expect(plain.state === 'online' && 'sweepId' in plain.settings).toBe(false);
    expect(() => resolveWandb(section(), { WANDB_API_KEY: KEY, WANDB_SWEEP_ID: 'a b' })).toThrow(
      /WANDB_SWEEP_ID=a b is not a valid sweep id/,
    );
  });

  it('turns bad values into config errors that say what to do', () => {
    expect(() => resolveWandb(section({ wandb: true }), {})).toThrow(/WANDB_API_KEY is not set/);
    expect(() => resolveWandb(section(), { WANDB_MODE: 'sometimes' })).toThrow(/not a W&B mode/);
    expect(() => resolveWandb(section(), { WANDB_API_KEY: KEY, WANDB_RUN_ID: 'a/b' })).toThrow(
      /not a valid run id/,
    );
    expect(() => resolveWandb(section(), { WANDB_API_KEY: KEY, WANDB_BASE_URL: 'ftp://x' })).toThrow(
      /not an http/,
    );
    expect(() => resolveWandb(section(), { WANDB_API_KEY: KEY, WANDB_PROJECT: 'a/b' })).toThrow(
      /not a valid project/,
    );
    expect(trackingConfigSchema.safeParse({ wandb: 'yes' }).success).toBe(false);
    expect(trackingConfigSchema.safeParse({ projekt: 'x' }).success).toBe(false);
  });
});
