import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createStorage, DataError, type Storage } from '@tfmlops/core';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GcsEmulator } from '../../../../tests/support/gcs-emulator/index.ts';
import { sourceConfigSchema } from './config.ts';
import { loadSource } from './load-source.ts';
import type { EncodedImage, SourceDataset } from './types.ts';

const logger = createLogger({ level: 'silent' });
const storage = createStorage();

function solid(r: number, g: number, b: number) {
  return sharp({ create: { width: 8, height: 6, channels: 3, background: { r, g, b } } });
}

/** The folder every test starts from: two classes in three formats, plus things that must be ignored. */
async function imageFiles(): Promise<Record<string, Buffer>> {
  const jpeg = await solid(200, 30, 30).jpeg().toBuffer();
  return {
    'cats/a.jpg': jpeg,
    'cats/B.PNG': await solid(10, 200, 10).png().toBuffer(),
    'cats/nested/c.webp': await solid(10, 10, 200).webp().toBuffer(),
    // Truncated JPEG: still a sample here; preprocessing decodes it and counts it as corrupt.
    'cats/broken.jpg': jpeg.subarray(0, 40),
    'cats/notes.txt': Buffer.from('not an image'),
    'dogs/x.jpeg': await solid(90, 90, 90).jpeg().toBuffer(),
    'dogs/.DS_Store': Buffer.from('finder junk'),
    'README.md': Buffer.from('# my dataset'),
    '.cache/thumb.png': await solid(0, 0, 0).png().toBuffer(),
  };
}

async function writeTree(root: string, files: Record<string, Buffer>): Promise<void> {
  for (const [path, data] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), data);
  }
}

function load(
  path: string,
  extra: Record<string, unknown> = {},
  withStorage: Storage = storage,
): Promise<SourceDataset> {
  return loadSource(sourceConfigSchema.parse({ kind: 'imagefolder', path, ...extra }), {
    storage: withStorage,
    logger,
  });
}

async function dataError(promise: Promise<unknown>): Promise<DataError> {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(DataError);
  return error as DataError;
}

let tmp: string;
let root: string;
let files: Record<string, Buffer>;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'imagefolder-test-'));
  files = await imageFiles();
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});
let run = 0;
beforeEach(async () => {
  root = join(tmp, `run-${run++}`);
  await writeTree(root, files);
});

describe('imagefolder source (local)', () => {
  it('takes sorted subfolders as classes and image files by extension, case-insensitive, nested too', async () => {
    const dataset = await load(root);

    expect(dataset.classNames).toEqual(['cats', 'dogs']);
    expect(dataset.samples.map((s) => [s.id, s.label])).toEqual([
      [join(root, 'cats/B.PNG'), 0],
      [join(root, 'cats/a.jpg'), 0],
      [join(root, 'cats/broken.jpg'), 0],
      [join(root, 'cats/nested/c.webp'), 0],
      [join(root, 'dogs/x.jpeg'), 1],
    ]);
    expect(dataset).toMatchObject({ source: 'imagefolder', origin: root, hasOfficialTestSplit: false });
    expect(dataset.samples.every((s) => s.officialSplit === undefined)).toBe(true);
  });

  it('reads encoded bytes lazily, on demand', async () => {
    const dataset = await load(root);
    const image = dataset.samples[3]!.image as EncodedImage;
    expect(image.kind).toBe('encoded');
    await writeFile(join(root, 'cats/nested/c.webp'), 'replaced after listing');
    expect((await image.read()).toString()).toBe('replaced after listing');
  });

  it('honours configured extensions, with or without the dot', async () => {
    const dataset = await load(root, { extensions: ['PNG', '.jpeg'] });
    expect(dataset.samples.map((s) => s.id)).toEqual([join(root, 'cats/B.PNG'), join(root, 'dogs/x.jpeg')]);
  });

  it('fingerprints paths, sizes and contents: same tree same value, any change a new one', async () => {
    const first = await load(root);
    const copy = join(tmp, `copy-${run}`);
    await writeTree(copy, files);
    expect((await load(copy)).fingerprint).toBe(first.fingerprint);

    const edited = Buffer.from(await readFile(join(copy, 'dogs/x.jpeg')));
    const at = edited.length - 3;
    edited.writeUInt8(edited.readUInt8(at) ^ 0xff, at); // same size, different content
    await writeFile(join(copy, 'dogs/x.jpeg'), edited);
    const afterEdit = (await load(copy)).fingerprint;
    expect(afterEdit).not.toBe(first.fingerprint);

    await writeFile(join(copy, 'dogs/y.png'), files['cats/B.PNG']!);
    expect((await load(copy)).fingerprint).not.toBe(afterEdit);
  });

  it('rejects an empty class folder, naming it', async () => {
    await mkdir(join(root, 'birds'));
    const error = await dataError(load(root));
    expect(error.code).toBe('DATA_EMPTY_CLASS');
    expect(error.message).toContain(`class folder ${join(root, 'birds')} has no images`);
    expect(error.hint).toContain('add images to the folder or remove it');
  });

  it('treats a class folder holding only non-images as empty', async () => {
    await writeTree(root, { 'fish/readme.txt': Buffer.from('x') });
    expect((await dataError(load(root))).message).toContain(join(root, 'fish'));
  });

  it('rejects a folder without class subfolders', async () => {
    const flat = join(tmp, `flat-${run}`);
    await writeTree(flat, { 'a.jpg': files['cats/a.jpg']! });
    const error = await dataError(load(flat));
    expect(error.code).toBe('DATA_NO_CLASSES');
    expect(error.hint).toContain(join(flat, 'cat/001.jpg'));
  });

  it('rejects a folder that does not exist', async () => {
    const error = await dataError(load(join(tmp, 'nowhere')));
    expect(error.code).toBe('DATA_SOURCE_MISSING');
    expect(error.message).toContain(join(tmp, 'nowhere'));
  });
});

describe('imagefolder source (gs:// through the GCS emulator)', () => {
  const emulator = new GcsEmulator();
  let gcs: Storage;
  beforeAll(async () => {
    const endpoint = await emulator.start();
    emulator.createBucket('images');
    gcs = createStorage({
      gcs: { apiEndpoint: endpoint, projectId: 'test', retry: { maxRetries: 1, maxRetryDelaySeconds: 1 } },
    });
    for (const [path, data] of Object.entries(files)) await gcs.write(`gs://images/set/${path}`, data);
  });
  afterAll(() => emulator.stop());

  it('lists, reads and fingerprints a bucket prefix like the same local folder', async () => {
    const remote = await load('gs://images/set', {}, gcs);
    const local = await load(root);

    expect(remote.classNames).toEqual(['cats', 'dogs']);
    expect(remote.samples.map((s) => s.id)).toEqual([
      'gs://images/set/cats/B.PNG',
      'gs://images/set/cats/a.jpg',
      'gs://images/set/cats/broken.jpg',
      'gs://images/set/cats/nested/c.webp',
      'gs://images/set/dogs/x.jpeg',
    ]);
    expect(remote.fingerprint).toBe(local.fingerprint);
    const bytes = await (remote.samples[4]!.image as EncodedImage).read();
    expect(bytes.equals(files['dogs/x.jpeg']!)).toBe(true);
  });

  it('takes a folder placeholder object without images as an empty class', async () => {
    await gcs.write('gs://images/with-empty/cats/a.jpg', files['cats/a.jpg']!);
    await gcs.write('gs://images/with-empty/birds/', Buffer.alloc(0));
    const error = await dataError(load('gs://images/with-empty', {}, gcs));
    expect(error.code).toBe('DATA_EMPTY_CLASS');
    expect(error.message).toContain('gs://images/with-empty/birds');
  });

  it('says clearly when the bucket cannot be listed', async () => {
    const error = await dataError(load('gs://no-such-bucket/set', {}, gcs));
    expect(error.code).toBe('DATA_SOURCE_UNREADABLE');
    expect(error.message).toContain('cannot list the image folder gs://no-such-bucket/set');
    expect(error.hint).toContain('credentials');
  });

  it('says there are no classes under an empty prefix', async () => {
    expect((await dataError(load('gs://images/nothing-here', {}, gcs))).code).toBe('DATA_NO_CLASSES');
  });
});
