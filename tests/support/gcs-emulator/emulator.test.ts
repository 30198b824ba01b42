import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsEmulator } from './emulator.ts';
import { crc32cBase64, md5Base64 } from './hashes.ts';

/**
 * The emulator's own protocol, for the parts core/storage does not happen to exercise (delimiters, ranges,
 * preconditions on reads and deletes, session cancel). Plain fetch, so what is checked is the wire format.
 */
const emulator = new GcsEmulator();
let api: string;

beforeAll(async () => {
  const endpoint = await emulator.start();
  api = `${endpoint}/storage/v1/b/bkt`;
  emulator.putObject('bkt', 'a/1.txt', 'one');
  emulator.putObject('bkt', 'a/sub/2.txt', 'two');
  emulator.putObject('bkt', 'a/sub/3.txt', 'three');
  emulator.putObject('bkt', 'b.txt', '0123456789');
});
afterAll(() => emulator.stop());

async function json(url: string, init?: RequestInit) {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('GCS emulator protocol', () => {
  it('lists with a delimiter as items plus common prefixes, sharing one page budget', async () => {
    const { body } = await json(`${api}/o?prefix=a/&delimiter=/`);
    expect((body.items as Array<{ name: string }>).map((i) => i.name)).toEqual(['a/1.txt']);
    expect(body.prefixes).toEqual(['a/sub/']);
    const first = await json(`${api}/o?maxResults=2`);
    expect((first.body.items as unknown[]).length).toBe(2);
    const second = await json(`${api}/o?maxResults=2&pageToken=${String(first.body.nextPageToken)}`);
    expect((second.body.items as Array<{ name: string }>).map((i) => i.name)).toEqual([
      'a/sub/3.txt',
      'b.txt',
    ]);
    expect(second.body.nextPageToken).toBeUndefined();
  });

  it('serves metadata with the real hashes and media with ranges', async () => {
    const meta = await json(`${api}/o/b.txt`);
    expect(meta.body).toMatchObject({
      name: 'b.txt',
      size: '10',
      crc32c: crc32cBase64(Buffer.from('0123456789')),
      md5Hash: md5Base64(Buffer.from('0123456789')),
    });
    const ranged = await fetch(`${api}/o/b.txt?alt=media`, { headers: { Range: 'bytes=2-4' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe('bytes 2-4/10');
    expect(await ranged.text()).toBe('234');
    const suffix = await fetch(`${emulator.endpoint}/download/storage/v1/b/bkt/o/b.txt`, {
      headers: { Range: 'bytes=-3' },
    });
    expect(await suffix.text()).toBe('789');
    expect((await fetch(`${api}/o/b.txt?alt=media`, { headers: { Range: 'bytes=20-' } })).status).toBe(416);
  });

  it('enforces generation preconditions on reads, deletes and uploads', async () => {
    const generation = String((await json(`${api}/o/b.txt`)).body.generation);
    expect((await json(`${api}/o/b.txt?ifGenerationMatch=1`)).status).toBe(412);
    expect((await json(`${api}/o/b.txt?ifGenerationNotMatch=${generation}`)).status).toBe(412);
    expect((await json(`${api}/o/b.txt?generation=1&alt=media`)).status).toBe(404);
    expect((await fetch(`${api}/o/a%2F1.txt?ifGenerationMatch=7`, { method: 'DELETE' })).status).toBe(412);
    expect(emulator.objectNames('bkt')).toContain('a/1.txt');
    const upload = await fetch(
      `${emulator.endpoint}/upload/storage/v1/b/bkt/o?uploadType=resumable&name=b.txt&ifGenerationMatch=0`,
      { method: 'POST' },
    );
    expect(upload.status).toBe(412);
  });

  it('runs a resumable session: chunks, status query, cancel', async () => {
    const start = await fetch(
      `${emulator.endpoint}/upload/storage/v1/b/bkt/o?uploadType=resumable&name=r.bin`,
      {
        method: 'POST',
      },
    );
    const session = start.headers.get('location')!;
    const chunk = await fetch(session, {
      method: 'PUT',
      headers: { 'Content-Range': 'bytes 0-3/*' },
      body: 'abcd',
    });
    expect(chunk.status).toBe(308);
    expect(chunk.headers.get('range')).toBe('bytes=0-3');
    const gap = await fetch(session, {
      method: 'PUT',
      headers: { 'Content-Range': 'bytes 9-9/10' },
      body: 'x',
    });
    expect(gap.status).toBe(400);
    const query = await fetch(session, { method: 'PUT', headers: { 'Content-Range': 'bytes */*' } });
    expect(query.headers.get('range')).toBe('bytes=0-3');
    expect(emulator.objectNames('bkt')).not.toContain('r.bin');
    expect((await fetch(session, { method: 'DELETE' })).status).toBe(499);
    expect((await fetch(session, { method: 'PUT', headers: { 'Content-Range': 'bytes */*' } })).status).toBe(
      404,
    );
  });

  it('answers unknown routes and buckets in the GCS error shape', async () => {
    const unknown = await json(`${emulator.endpoint}/storage/v1/b/bkt/o/x/compose`, { method: 'POST' });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ error: { code: 400, errors: [{ reason: 'invalid' }] } });
    expect((await json(`${emulator.endpoint}/storage/v1/b/missing/o`)).status).toBe(404);
    expect((await json(`${emulator.endpoint}/storage/v1/b/bkt`)).body).toMatchObject({ name: 'bkt' });
  });
});
