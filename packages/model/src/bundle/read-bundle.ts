import { joinUri, ModelLoadError, parentUri, type Storage, StorageError, sha256Hex } from '@tfmlops/core';
import type { z } from 'zod';
import {
  BUNDLE_FILE,
  type BundleManifest,
  bundleManifestSchema,
  LATEST_POINTER_FILE,
  type LatestPointer,
  latestPointerSchema,
} from './format.ts';

/** Where a bundle lives, and the pointer that led there (when the URI named one). */
export interface ResolvedBundle {
  /** The bundle directory (holding bundle.json). */
  dir: string;
  pointer: LatestPointer | null;
}

/**
 * Accepts what a user would write for "this model": a bundle directory, its bundle.json, a `latest.json` pointer, or
 * an experiment directory holding a `latest.json`. Local paths, file:// and gs:// alike.
 */
export async function resolveBundle(uri: string, storage: Storage): Promise<ResolvedBundle> {
  const trimmed = uri.replace(/\/+$/, '');
  if (trimmed.endsWith(`/${BUNDLE_FILE}`) || trimmed === BUNDLE_FILE)
    return { dir: parentUri(trimmed), pointer: null };
  if (trimmed.endsWith('.json')) return followPointer(trimmed, storage);
  if (await storage.exists(joinUri(trimmed, BUNDLE_FILE))) return { dir: trimmed, pointer: null };
  const pointerUri = joinUri(trimmed, LATEST_POINTER_FILE);
  if (await storage.exists(pointerUri)) return followPointer(pointerUri, storage);
  throw new ModelLoadError(
    'MODEL_NOT_FOUND',
    `no model bundle at ${uri}: neither ${BUNDLE_FILE} nor ${LATEST_POINTER_FILE} is there`,
    {
      hint: 'give a bundle directory, its bundle.json, or a latest.json pointer (`pnpm train` prints the URIs it wrote)',
    },
  );
}

async function followPointer(pointerUri: string, storage: Storage): Promise<ResolvedBundle> {
  const pointer = parseJson(
    await readOrExplain(storage, pointerUri, 'pointer'),
    latestPointerSchema,
    pointerUri,
  );
  return { dir: joinUri(parentUri(pointerUri), pointer.path), pointer };
}

/** Reads and validates bundle.json; with `expectedSha256` (from a pointer) the file itself is checked first. */
export async function readBundleManifest(
  dir: string,
  storage: Storage,
  expectedSha256?: string,
): Promise<{ manifest: BundleManifest; sha256: string }> {
  const uri = joinUri(dir, BUNDLE_FILE);
  const bytes = await readOrExplain(storage, uri, 'bundle');
  const sha256 = sha256Hex(bytes);
  if (expectedSha256 !== undefined && sha256 !== expectedSha256) {
    throw new ModelLoadError(
      'MODEL_CHECKSUM_MISMATCH',
      `${BUNDLE_FILE} has SHA-256 ${sha256.slice(0, 16)}…, the pointer says ${expectedSha256.slice(0, 16)}… (${uri})`,
      { hint: 'the bundle changed after it was published; publish it again or point at another version' },
    );
  }
  return { manifest: parseJson(bytes, bundleManifestSchema, uri), sha256 };
}

/**
 * Reads every file bundle.json lists and checks its size and SHA-256. Returns the verified bytes by path, so the
 * caller loads exactly what was checked (no second read that could differ).
 */
export async function verifyBundleFiles(
  dir: string,
  manifest: BundleManifest,
  storage: Storage,
): Promise<Map<string, Buffer>> {
  const verified = new Map<string, Buffer>();
  for (const file of manifest.files) {
    const uri = joinUri(dir, file.path);
    const data = await readOrExplain(storage, uri, 'bundle file');
    const sha256 = sha256Hex(data);
    if (data.byteLength !== file.bytes || sha256 !== file.sha256) {
      throw new ModelLoadError(
        'MODEL_CHECKSUM_MISMATCH',
        `bundle file ${file.path} of ${manifest.name}@${manifest.version} does not match bundle.json: ` +
          `${data.byteLength} bytes with SHA-256 ${sha256.slice(0, 16)}…, expected ${file.bytes} bytes with ${file.sha256.slice(0, 16)}… (${uri})`,
        { hint: 'the file was changed or damaged after export; re-export or re-publish the bundle' },
      );
    }
    verified.set(file.path, data);
  }
  return verified;
}

async function readOrExplain(storage: Storage, uri: string, what: string): Promise<Buffer> {
  try {
    return await storage.read(uri);
  } catch (error) {
    if (error instanceof StorageError && error.code === 'STORAGE_NOT_FOUND') {
      throw new ModelLoadError('MODEL_NOT_FOUND', `${what} ${uri} does not exist`, {
        hint: 'check MODEL_URI / --model; a bundle directory holds bundle.json, model.json and weight shards',
        cause: error,
      });
    }
    throw error;
  }
}

function parseJson<Schema extends z.ZodType>(bytes: Buffer, schema: Schema, uri: string): z.output<Schema> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new ModelLoadError('MODEL_INVALID', `${uri} is not valid JSON`, {
      cause,
      hint: 'the file is damaged; re-export it',
    });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    throw new ModelLoadError(
      'MODEL_INVALID',
      `${uri} is not a valid ${uri.endsWith(BUNDLE_FILE) ? 'bundle manifest' : 'bundle pointer'}: ${issues}`,
      {
        hint: 'it was written by an incompatible version or edited by hand; re-export the bundle',
      },
    );
  }
  return parsed.data;
}
