import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createLogger, createStorage, DataError, sha256Hex } from '@tfmlops/core';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestFileServer } from '../download/test-file-server.ts';
import { CIFAR_RECORD_BYTES, parseCifarBatch, readCifar10Archive } from './cifar10.ts';
import { sourceConfigSchema } from './config.ts';
import { loadSource } from './load-source.ts';
import type { RawPixels } from './types.ts';

const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const logger = createLogger({ level: 'silent' });

/** One CIFAR record whose red plane holds `seed`, green `seed + 1`, blue the pixel index mod 256. */
function record(label: number, seed: number): Buffer {
  const data = Buffer.alloc(CIFAR_RECORD_BYTES);
  data[0] = label;
  data.fill(seed, 1, 1025);
  data.fill(seed + 1, 1025, 2049);
  for (let p = 0; p < 1024; p += 1) data[2049 + p] = p % 256;
  return data;
}

/** A cifar-10-binary.tar.gz in miniature: two records per train batch, three in the test batch. */
async function cifarTarball(
  options: { omit?: string; extra?: Record<string, Buffer> } = {},
): Promise<Buffer> {
  const members: Record<string, Buffer> = {
    'batches.meta.txt': Buffer.from(`${CLASSES.join('\n')}\n\n`),
    'readme.html': Buffer.from('<html></html>'),
    ...options.extra,
  };
  for (let b = 1; b <= 5; b += 1)
    members[`data_batch_${b}.bin`] = Buffer.concat([record(b, b * 10), record(9, b * 10 + 5)]);
  members['test_batch.bin'] = Buffer.concat([record(3, 100), record(0, 110), record(8, 120)]);
  if (options.omit) delete members[options.omit];
  const tar = pack();
  for (const [name, data] of Object.entries(members))
    tar.entry({ name: `cifar-10-batches-bin/${name}` }, data);
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of tar) chunks.push(chunk as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cifar-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseCifarBatch', () => {
  it('turns planar CHW records into interleaved HWC pixels', () => {
    const batch = parseCifarBatch(Buffer.concat([record(4, 50), record(7, 60)]), 'batch', 10);
    expect(batch.count).toBe(2);
    expect([...batch.labels]).toEqual([4, 7]);
    const second = batch.pixels.subarray(3072, 6144);
    // pixel 300 (row 9, column 12): R = seed, G = seed + 1, B = 300 % 256
    expect([...second.subarray(300 * 3, 300 * 3 + 3)]).toEqual([60, 61, 44]);
    expect([...second.subarray(0, 6)]).toEqual([60, 61, 0, 60, 61, 1]);
  });

  it('rejects a partial record', () => {
    expect(() => parseCifarBatch(Buffer.alloc(CIFAR_RECORD_BYTES + 1), 'x.bin', 10)).toThrow(
      'x.bin has 3074 bytes, not a whole number of 3073-byte CIFAR records',
    );
  });

  it('rejects a label outside the classes', () => {
    expect(() => parseCifarBatch(record(10, 0), 'x.bin', 10)).toThrow('record 0 has label 10');
  });
});

describe('readCifar10Archive', () => {
  it('reads train batches 1-5 and the test batch in order, with class names from batches.meta.txt', async () => {
    const archive = await cifarTarball();
    const path = join(dir, 'cifar-10-binary.tar.gz');
    await writeFile(path, archive);

    const dataset = await readCifar10Archive(path);

    expect(dataset.classNames).toEqual(CLASSES);
    expect(dataset.hasOfficialTestSplit).toBe(true);
    expect(dataset.samples.map((s) => s.label)).toEqual([1, 9, 2, 9, 3, 9, 4, 9, 5, 9, 3, 0, 8]);
    expect(dataset.samples.map((s) => s.officialSplit)).toEqual([
      ...Array(10).fill('train'),
      'test',
      'test',
      'test',
    ]);
    expect(dataset.samples[3]!.id).toBe('data_batch_2#1');
    expect(dataset.samples[12]!.id).toBe('test_batch#2');
    const image = dataset.samples[12]!.image as RawPixels;
    expect(image).toMatchObject({ kind: 'raw', width: 32, height: 32, channels: 3 });
    expect(image.pixels).toHaveLength(3072);
    expect([...image.pixels.subarray(3069)]).toEqual([120, 121, 255]);
    expect(dataset.fingerprint).toBe(sha256Hex(`cifar-10-binary.tar.gz ${sha256Hex(archive)}\n`));
  });

  it('names the missing members of a wrong archive', async () => {
    const path = join(dir, 'no-test.tar.gz');
    await writeFile(path, await cifarTarball({ omit: 'test_batch.bin' }));
    const error = await readCifar10Archive(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).message).toBe(`${path} lacks test_batch.bin`);
  });

  it('reports a truncated archive as corrupt', async () => {
    const archive = await cifarTarball();
    const path = join(dir, 'truncated.tar.gz');
    await writeFile(path, archive.subarray(0, Math.floor(archive.length / 2)));
    await expect(readCifar10Archive(path)).rejects.toMatchObject({
      code: 'DATA_CORRUPT_FILE',
      message: expect.stringContaining(`cannot read ${path}: unexpected end of file`),
    });
  });
});

describe('cifar10 source', () => {
  const server = new TestFileServer();
  afterAll(() => server.stop());

  it('downloads the tarball from a mirror, verifies it and reads it', async () => {
    const archive = await cifarTarball();
    const base = await server.start();
    server.serve('/kriz/cifar-10-binary.tar.gz', { body: archive });
    const config = sourceConfigSchema.parse({
      kind: 'cifar10',
      mirrors: [`${base}/kriz`],
      sha256: sha256Hex(archive),
    });

    const dataset = await loadSource(config, {
      storage: createStorage(),
      logger,
      cacheDir: dir,
      progress: 'off',
    });

    expect(dataset.samples).toHaveLength(13);
    expect(dataset.origin).toBe(`${base}/kriz`);
    expect(server.requests.map((r) => r.path)).toEqual(['/kriz/cifar-10-binary.tar.gz']);
  });
});
