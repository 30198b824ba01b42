import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

function capture(): { stream: PassThrough; lines: () => string[] } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  return { stream, lines: () => chunks.join('').split('\n').filter(Boolean) };
}

describe('createLogger', () => {
  it('writes JSON with a Cloud Logging severity when not on a TTY', async () => {
    const { stream, lines } = capture();
    const logger = createLogger({ destination: stream, level: 'debug', name: 'test' });
    logger.warn({ shard: 3 }, 'slow shard');
    logger.debug('details');
    logger.trace('hidden');
    await new Promise((resolve) => setImmediate(resolve));
    const records = lines().map((line) => JSON.parse(line));
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ severity: 'WARNING', message: 'slow shard', shard: 3, name: 'test' });
    expect(records[1]).toMatchObject({ severity: 'DEBUG', message: 'details' });
    expect(typeof records[0].time).toBe('string');
  });

  it('writes readable lines when pretty', async () => {
    const { stream, lines } = capture();
    const logger = createLogger({ destination: stream, pretty: true });
    logger.info({ backend: 'wasm' }, 'backend ready');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const text = lines().join('\n');
    expect(text).toContain('backend ready');
    expect(text).toContain('INFO');
    expect(() => JSON.parse(lines()[0]!)).toThrow();
  });
});
