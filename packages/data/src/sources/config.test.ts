import { describe, expect, it } from 'vitest';
import { cifar10SourceSchema, sourceConfigSchema } from './config.ts';
import { CIFAR10_SHA256, FASHION_MNIST_MIRRORS, MNIST_MIRRORS, MNIST_SHA256 } from './known-files.ts';

const HASH = 'ab'.repeat(32);

describe('sourceConfigSchema', () => {
  it('reads mnist offline by default, with the official mirrors and checksums filled in', () => {
    expect(sourceConfigSchema.parse({ kind: 'mnist' })).toEqual({
      kind: 'mnist',
      offline: true,
      mirrors: MNIST_MIRRORS,
      sha256: MNIST_SHA256,
    });
  });

  it('downloads mnist when mirrors are given, unless offline says otherwise', () => {
    expect(sourceConfigSchema.parse({ kind: 'mnist', mirrors: ['https://example.org/mnist'] })).toMatchObject(
      {
        offline: false,
        mirrors: ['https://example.org/mnist'],
      },
    );
    expect(sourceConfigSchema.parse({ kind: 'mnist', offline: false })).toMatchObject({
      offline: false,
      mirrors: MNIST_MIRRORS,
    });
    expect(
      sourceConfigSchema.parse({ kind: 'mnist', offline: true, mirrors: ['https://x.org/'] }),
    ).toMatchObject({ offline: true });
  });

  it('lets one file checksum be overridden, keeping the others, and normalises case', () => {
    const parsed = sourceConfigSchema.parse({
      kind: 'fashion-mnist',
      sha256: { trainLabels: HASH.toUpperCase() },
    });
    expect(parsed).toMatchObject({ mirrors: FASHION_MNIST_MIRRORS, sha256: { trainLabels: HASH } });
    expect(parsed.kind === 'fashion-mnist' && parsed.sha256.testImages).toMatch(/^346e55b9/);
  });

  it('fills cifar10 defaults and keeps cacheDir', () => {
    expect(sourceConfigSchema.parse({ kind: 'cifar10', cacheDir: '/data/cache' })).toEqual({
      kind: 'cifar10',
      mirrors: ['https://www.cs.toronto.edu/~kriz/'],
      sha256: CIFAR10_SHA256,
      cacheDir: '/data/cache',
    });
  });

  it('normalises imagefolder extensions and defaults them to JPEG/PNG/WebP', () => {
    expect(sourceConfigSchema.parse({ kind: 'imagefolder', path: 'gs://b/p' })).toEqual({
      kind: 'imagefolder',
      path: 'gs://b/p',
      extensions: ['.jpg', '.jpeg', '.png', '.webp'],
    });
    expect(
      sourceConfigSchema.parse({ kind: 'imagefolder', path: 'x', extensions: ['PNG', '.Tif'] }),
    ).toMatchObject({
      extensions: ['.png', '.tif'],
    });
  });

  it('gives defaults that callers cannot corrupt for the next parse', () => {
    const first = cifar10SourceSchema.parse({ kind: 'cifar10' });
    first.mirrors.push('https://evil.example/');
    expect(cifar10SourceSchema.parse({ kind: 'cifar10' }).mirrors).toHaveLength(1);
  });

  it('names the valid kinds for an unknown one', () => {
    const result = sourceConfigSchema.safeParse({ kind: 'imagenet' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({
      path: ['kind'],
      message: 'unknown source kind; expected one of: mnist, fashion-mnist, cifar10, imagefolder',
    });
  });

  it('rejects malformed checksums, non-http mirrors, unknown keys and a missing path', () => {
    const messages = (input: unknown) =>
      sourceConfigSchema.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(messages({ kind: 'cifar10', sha256: 'abc' })).toEqual([
      'sha256: expected a SHA-256: 64 hex digits (as printed by `sha256sum <file>`)',
    ]);
    expect(messages({ kind: 'cifar10', mirrors: ['ftp://x.org/'] })).toEqual([
      'mirrors.0: expected an http(s) base URL',
    ]);
    expect(messages({ kind: 'cifar10', mirrors: [] })?.[0]).toContain('give at least one mirror');
    expect(messages({ kind: 'mnist', mirror: ['https://x.org/'] })?.[0]).toContain('mirror');
    expect(messages({ kind: 'imagefolder' })?.[0]).toMatch(/^path: /);
  });
});
