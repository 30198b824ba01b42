/**
 * Fuzz: 1,020 mutated real PNG, JPEG and WebP files (bit flips, truncations, header edits, spliced and repeated
 * ranges) against POST /predict. No answer may be a 5xx, every refusal is a JSON error, the service stays ready and
 * no tensor is left behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createRandom, createStorage } from '@tfmlops/core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32 } from '../support/serve/bad-images.ts';
import { buildTestApp, multipartBody, type TestApp } from '../support/serve/test-app.ts';
import {
  halfImage,
  publishTinyBundle,
  trainTinyModel,
  useWasmBackend,
} from '../support/serve/tiny-bundle.ts';

const MUTANTS_PER_SEED = 170;
const storage = createStorage();
let dir: string;
let trained: tfl.LayersModel;
let service: TestApp;

type Mutation = (bytes: Buffer, next: () => number) => Buffer;
const int = (next: () => number, max: number) => Math.floor(next() * max);

const MUTATIONS: Record<string, Mutation> = {
  bitFlips(bytes, next) {
    const out = Buffer.from(bytes);
    for (let i = 1 + int(next, 8); i > 0; i -= 1) {
      const at = int(next, out.length);
      out[at] = (out[at] as number) ^ (1 << int(next, 8));
    }
    return out;
  },
  truncate: (bytes, next) => bytes.subarray(0, int(next, bytes.length)),
  /** Random bytes over the first 64 bytes: signatures, IHDR/SOF/VP8 dimensions, bit depths, colour types. */
  headerEdit(bytes, next) {
    const out = Buffer.from(bytes);
    for (let i = 1 + int(next, 4); i > 0; i -= 1) out[int(next, Math.min(64, out.length))] = int(next, 256);
    return out;
  },
  /** Dimensions blown up: a 32-bit big-endian field of the header set to a large value. */
  hugeDimension(bytes, next) {
    const out = Buffer.from(bytes);
    const at = 16 + int(next, Math.max(1, Math.min(48, out.length - 20)));
    out.writeUInt32BE(0x0000ffff + int(next, 0x7fff0000), at);
    return out;
  },
  /** A PNG whose IHDR declares another size, with a valid CRC, so the decoder believes it. */
  pngDimensions(bytes, next) {
    if (bytes.toString('latin1', 12, 16) !== 'IHDR') return bytes;
    const out = Buffer.from(bytes);
    const size = () => 1 + int(next, next() < 0.5 ? 64 : 100_000);
    out.writeUInt32BE(size(), 16);
    out.writeUInt32BE(size(), 20);
    out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
    return out;
  },
  zeroRange(bytes, next) {
    const out = Buffer.from(bytes);
    const start = int(next, out.length);
    out.fill(0, start, Math.min(out.length, start + 1 + int(next, 256)));
    return out;
  },
  repeatRange(bytes, next) {
    const start = int(next, bytes.length);
    const end = Math.min(bytes.length, start + 1 + int(next, 512));
    const copies = 1 + int(next, 20);
    return Buffer.concat([
      bytes.subarray(0, end),
      ...Array(copies).fill(bytes.subarray(start, end)),
      bytes.subarray(end),
    ]);
  },
  appendGarbage(bytes, next) {
    const garbage = Buffer.from(Array.from({ length: 1 + int(next, 2048) }, () => int(next, 256)));
    return Buffer.concat([bytes, garbage]);
  },
  splice(bytes, next) {
    const cut = int(next, bytes.length);
    const from = int(next, bytes.length);
    return Buffer.concat([bytes.subarray(0, cut), bytes.subarray(from)]);
  },
};

beforeAll(async () => {
  await useWasmBackend();
  dir = mkdtempSync(join(tmpdir(), 'serve-fuzz-'));
  trained = await trainTinyModel();
  const published = await publishTinyBundle(join(dir, 'staging'), join(dir, 'models'), trained, storage);
  service = await buildTestApp({ modelUri: published.latestUri!, maxPixels: 4_000_000 }, storage);
});

afterAll(async () => {
  await service?.app.close();
  trained?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('fuzzing POST /predict', () => {
  it('answers 1,020 mutated PNG/JPEG/WebP files without a 5xx, stays ready, and leaks no tensors', async () => {
    const seeds: Array<{ type: string; bytes: Buffer }> = [
      { type: 'image/png', bytes: await halfImage('top', { size: 28 }) },
      {
        type: 'image/png',
        bytes: await sharp(await halfImage('bottom', { size: 40 }))
          .toColourspace('srgb')
          .png({ palette: true })
          .toBuffer(),
      },
      { type: 'image/jpeg', bytes: await halfImage('top', { size: 48, format: 'jpeg' }) },
      {
        type: 'image/jpeg',
        bytes: await sharp(await halfImage('bottom', { size: 64 }))
          .jpeg({ progressive: true })
          .withMetadata({ orientation: 6 })
          .toBuffer(),
      },
      { type: 'image/webp', bytes: await halfImage('bottom', { size: 32, format: 'webp' }) },
      {
        type: 'image/webp',
        bytes: await sharp(await halfImage('top', { size: 32 }))
          .webp({ quality: 70 })
          .toBuffer(),
      },
    ];
    // Warm every path once, so that the tensor count below measures steady state.
    for (const seed of seeds) await send(seed.bytes, seed.type, false);
    const tensors = tf.memory().numTensors;

    const next = createRandom(20261130);
    const names = Object.keys(MUTATIONS);
    const statuses = new Map<number, number>();
    const codes = new Map<string, number>();
    let sent = 0;
    for (const [s, seed] of seeds.entries()) {
      for (let i = 0; i < MUTANTS_PER_SEED; i += 1) {
        const name = names[int(next, names.length)] as string;
        let bytes = (MUTATIONS[name] as Mutation)(seed.bytes, next);
        if (next() < 0.2)
          bytes = (MUTATIONS[names[int(next, names.length)] as string] as Mutation)(bytes, next);
        const response = await send(bytes, seed.type, next() < 0.3);
        sent += 1;
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
        if (response.statusCode >= 500) {
          throw new Error(`seed ${s} mutant ${i} (${name}) got ${response.statusCode}: ${response.body}`);
        }
        if (response.statusCode !== 200) {
          const body = response.json();
          expect(body.error.code, response.body).toMatch(/^[A-Z0-9_]+$/);
          expect(body.error.message.length).toBeGreaterThan(5);
          codes.set(body.error.code, (codes.get(body.error.code) ?? 0) + 1);
        }
      }
    }
    expect(sent).toBe(seeds.length * MUTANTS_PER_SEED);
    process.stdout.write(
      `fuzz: ${sent} inputs; statuses ${JSON.stringify(Object.fromEntries(statuses))}; codes ${JSON.stringify(Object.fromEntries(codes))}\n`,
    );
    // Mutants both pass and fail: the decoder was really exercised on damaged files.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(50);
    expect(codes.get('IMAGE_UNDECODABLE') ?? 0).toBeGreaterThan(50);
    expect(codes.get('IMAGE_TOO_LARGE') ?? 0).toBeGreaterThan(0);

    expect(tf.memory().numTensors).toBe(tensors);
    expect((await service.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    const healthy = await send(await halfImage('bottom'), 'image/png', false);
    expect(healthy.json().predictions[0].label).toBe('bottom');
  });
});

function send(bytes: Buffer, type: string, multipart: boolean) {
  return service.app.inject(
    multipart
      ? {
          method: 'POST',
          url: '/predict',
          ...multipartBody([{ name: 'file', filename: 'x', contentType: type, data: bytes }]),
        }
      : { method: 'POST', url: '/predict', payload: bytes, headers: { 'content-type': type } },
  );
}
