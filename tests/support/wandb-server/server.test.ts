import { afterEach, describe, expect, it } from 'vitest';
import { WandbServer } from './server.ts';

const auth = (key: string) => ({ authorization: `Basic ${Buffer.from(`api:${key}`).toString('base64')}` });
let server: WandbServer | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function graphql(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  key = 'good-key',
) {
  return fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth(key) },
    body: JSON.stringify({ query, variables }),
  });
}

describe('W&B contract server over raw HTTP', () => {
  it('answers Viewer, stores a run from UpsertBucket and its history and completion from file_stream', async () => {
    server = new WandbServer({ apiKeys: ['good-key'], entity: 'me' });
    const url = await server.start();
    const viewer = await graphql(url, 'query Viewer { viewer { id entity } }');
    expect(viewer.status).toBe(200);
    expect(((await viewer.json()) as { data: { viewer: { entity: string } } }).data.viewer.entity).toBe('me');

    const upsert = await graphql(url, 'mutation UpsertBucket($name: String) { upsertBucket { inserted } }', {
      name: 'r1',
      project: 'p',
      entity: 'me',
      config: JSON.stringify({ lr: 0.1 }),
    });
    const answer = (await upsert.json()) as {
      data: { upsertBucket: { inserted: boolean; bucket: { name: string } } };
    };
    expect(answer.data.upsertBucket).toMatchObject({ inserted: true, bucket: { name: 'r1' } });

    const post = (body: unknown) =>
      fetch(`${url}/files/me/p/r1/file_stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth('good-key') },
        body: JSON.stringify(body),
      });
    const first = await post({
      files: {
        'wandb-history.jsonl': {
          offset: 0,
          content: [JSON.stringify({ loss: 1, _step: 0 }), JSON.stringify({ loss: 0.5, _step: 1 })],
        },
        'wandb-summary.json': { offset: 0, content: [JSON.stringify({ loss: 0.5 })] },
      },
    });
    expect(first.status).toBe(200);
    // A resent line at the same offset replaces it, as on W&B.
    await post({
      files: { 'wandb-history.jsonl': { offset: 1, content: [JSON.stringify({ loss: 0.4, _step: 1 })] } },
    });
    await post({ complete: true, exitcode: 0 });

    const run = server.onlyRun();
    expect(run).toMatchObject({
      entity: 'me',
      project: 'p',
      id: 'r1',
      config: { lr: 0.1 },
      complete: true,
      exitcode: 0,
    });
    expect(run?.history).toEqual([
      { loss: 1, _step: 0 },
      { loss: 0.4, _step: 1 },
    ]);
    expect(run?.streamSummary).toEqual({ loss: 0.5 });
    expect(server.requests.map((r) => r.operation)).toEqual([
      'Viewer',
      'UpsertBucket',
      'file_stream',
      'file_stream',
      'file_stream',
    ]);
  });

  it('rejects unknown keys with 401 and injects 5xx, 4xx and no answer as asked', async () => {
    server = new WandbServer({ apiKeys: ['good-key'] });
    const url = await server.start();
    expect((await graphql(url, 'query Viewer { viewer { id } }', {}, 'bad-key')).status).toBe(401);

    server.inject({ operation: 'Viewer', answer: 503, times: 1 });
    server.inject({ operation: 'UpsertBucket', answer: 403 });
    expect((await graphql(url, 'query Viewer { viewer { id } }')).status).toBe(503);
    expect((await graphql(url, 'query Viewer { viewer { id } }')).status).toBe(200);
    expect((await graphql(url, 'mutation UpsertBucket { upsertBucket { inserted } }')).status).toBe(403);

    server.inject({ operation: 'file_stream', answer: 'hang' });
    const hung = fetch(`${url}/files/e/p/r/file_stream`, {
      method: 'POST',
      body: '{}',
      signal: AbortSignal.timeout(300),
    });
    await expect(hung).rejects.toThrow(/abort|timeout/i);
    expect(server.requests.at(-1)).toMatchObject({ operation: 'file_stream', status: 'hang' });
  });
});
