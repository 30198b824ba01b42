/**
 * Child process of `pnpm bench data`: one timed pass of one of our contenders over the image folder (or MNIST),
 * printing one JSON line `{"sample": ...}`.
 *
 *   tsx bench/data/engine.ts preprocess <dir> <size> <target> <concurrency>
 *   tsx bench/data/engine.ts prepare-imagefolder <dir> <target>
 *   tsx bench/data/engine.ts prepare-mnist
 */
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createStorage } from '@tfmlops/core';
import {
  configureSharpForBatches,
  dataConfigSchema,
  prepareDataset,
  preprocessImage,
  preprocessSpecSchema,
} from '@tfmlops/data';
import sharp from 'sharp';
import { listImages } from './files.ts';
import type { DataSample } from './types.ts';

/** Images of the untimed warm-up pass (JIT, libvips start-up). */
const WARMUP_IMAGES = 200;

const cpuMs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

/** Reads, decodes, resizes and crops every file, `concurrency` images in flight; checks every image arrived. */
async function preprocessPass(files: string[], target: number, concurrency: number): Promise<void> {
  const spec = preprocessSpecSchema.parse({ width: target, height: target, channels: 3, resize: 'crop' });
  let next = 0;
  let bytes = 0;
  const worker = async () => {
    while (next < files.length) {
      const file = files[next++]!;
      // Awaited first: `bytes += await ...` would read `bytes` before the await and lose other workers' updates.
      const pixels = await preprocessImage(await readFile(file), spec);
      bytes += pixels.length;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (bytes !== files.length * target * target * 3) throw new Error('preprocessing lost images');
}

/** CPU time of one sharp call on an 8x8 JPEG: the per-image cost that does not depend on the image's size. */
async function sharpFixedCostMs(): Promise<number> {
  const tiny = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } })
    .jpeg()
    .toBuffer();
  for (let i = 0; i < 100; i += 1) await sharp(tiny).raw().toBuffer();
  const start = process.cpuUsage();
  const n = 1000;
  for (let i = 0; i < n; i += 1) await sharp(tiny).raw().toBuffer();
  return cpuMs(start) / n;
}

/** CPU time of decoding one source JPEG to raw pixels (no resize, no colour work), over `files`. */
async function decodeOnlyCpuMs(files: string[]): Promise<number> {
  const buffers = await Promise.all(files.map((file) => readFile(file)));
  const start = process.cpuUsage();
  for (const buffer of buffers) await sharp(buffer).raw().toBuffer();
  return cpuMs(start) / buffers.length;
}

async function measurePreprocess(dir: string, target: number, concurrency: number): Promise<DataSample> {
  configureSharpForBatches();
  const files = await listImages(dir);
  await preprocessPass(files.slice(0, WARMUP_IMAGES), target, concurrency);
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  await preprocessPass(files, target, concurrency);
  const seconds = (performance.now() - start) / 1000;
  const cpuMsPerImage = cpuMs(cpuStart) / files.length;
  return {
    imagesPerSecond: files.length / seconds,
    cpuMsPerImage,
    sharpFixedCostMs: await sharpFixedCostMs(),
    decodeOnlyCpuMs: await decodeOnlyCpuMs(files.slice(0, WARMUP_IMAGES)),
  };
}

async function measurePrepare(data: object, images: number): Promise<DataSample> {
  const outputDir = join(tmpdir(), `bench-data-prepare-${process.pid}`);
  const config = dataConfigSchema.parse({ ...data, outputDir });
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  await prepareDataset(config, {
    storage: createStorage(),
    logger: createLogger({ level: 'warn' }),
    force: true,
  });
  const seconds = (performance.now() - start) / 1000;
  const cpuMsPerImage = cpuMs(cpuStart) / images;
  await rm(outputDir, { recursive: true, force: true });
  return { imagesPerSecond: images / seconds, cpuMsPerImage };
}

const [mode, ...rest] = process.argv.slice(2);
let sample: DataSample;
if (mode === 'preprocess') {
  const [dir, target, concurrency] = [rest[0]!, Number(rest[1]), Number(rest[2])];
  sample = await measurePreprocess(dir, target, concurrency);
} else if (mode === 'prepare-imagefolder') {
  const [dir, target] = [rest[0]!, Number(rest[1])];
  sample = await measurePrepare(
    {
      name: 'bench-imagefolder',
      source: { kind: 'imagefolder', path: dir },
      preprocess: { width: target, height: target, channels: 3, resize: 'crop' },
    },
    (await listImages(dir)).length,
  );
} else if (mode === 'prepare-mnist') {
  sample = await measurePrepare({ name: 'bench-mnist', source: { kind: 'mnist' } }, 70_000);
} else {
  process.stderr.write(`unknown mode ${mode}; one of preprocess, prepare-imagefolder, prepare-mnist\n`);
  process.exit(2);
}
process.stdout.write(`${JSON.stringify({ sample })}\n`);
