import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StorageError } from '../errors.ts';

export type ParsedUri = { kind: 'local'; path: string } | { kind: 'gcs'; bucket: string; key: string };

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const SUPPORTED = 'a local path, file:///absolute/path or gs://bucket/prefix';
/** GCS bucket names: 3-222 lowercase letters, digits, `-`, `_` and `.`, starting and ending alphanumeric. */
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/** True for `gs://` URIs. */
export function isGcsUri(uri: string): boolean {
  return /^gs:\/\//i.test(uri);
}

/**
 * Splits a storage URI into its backend and location: a plain path (relative paths resolve against the current
 * directory), a `file://` URL, or `gs://bucket/key`. Anything else is a `StorageError` naming the supported forms.
 */
export function parseUri(uri: string): ParsedUri {
  if (uri.trim() === '') {
    throw new StorageError('STORAGE_BAD_URI', 'empty storage URI', { hint: `give ${SUPPORTED}` });
  }
  const scheme = SCHEME.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'local', path: resolve(uri) };
  if (scheme === 'file') return { kind: 'local', path: fileUrlToPath(uri) };
  if (scheme === 'gs') return { kind: 'gcs', ...parseGcsUri(uri) };
  throw new StorageError(
    'STORAGE_UNSUPPORTED_SCHEME',
    `unsupported storage URI scheme '${scheme}://' in '${uri}'`,
    {
      hint: `use ${SUPPORTED}`,
    },
  );
}

/** Splits `gs://bucket/key` into bucket and key (the key may be empty: the whole bucket). */
export function parseGcsUri(uri: string): { bucket: string; key: string } {
  if (!isGcsUri(uri)) {
    throw new StorageError('STORAGE_BAD_URI', `'${uri}' is not a gs:// URI`, {
      hint: 'write gs://bucket/path',
    });
  }
  const rest = uri.slice('gs://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  if (!BUCKET.test(bucket)) {
    throw new StorageError('STORAGE_BAD_URI', `'${uri}' does not name a valid bucket`, {
      hint: 'bucket names are 3-222 lowercase letters, digits, dots, dashes or underscores: gs://my-bucket/path',
    });
  }
  return { bucket, key: slash < 0 ? '' : rest.slice(slash + 1) };
}

/**
 * Appends a relative path (with `/` separators) to a storage URI or local path. Under a `file://` URL the path is
 * percent-encoded, so names with `#`, `?` or `%` stay names; gs:// URIs carry object names verbatim.
 */
export function joinUri(base: string, relativePath: string): string {
  if (SCHEME.test(base)) {
    const relative = relativePath.replace(/^\/+/, '');
    const tail = /^file:/i.test(base) ? relative.split('/').map(encodeURIComponent).join('/') : relative;
    return `${base.replace(/\/+$/, '')}/${tail}`;
  }
  return isAbsolute(relativePath) ? relativePath : join(base, relativePath);
}

/**
 * The URI of the directory holding `uri` (`gs://b/models/exp1/latest.json` -> `gs://b/models/exp1`), for resolving
 * paths written relative to a file, as a pointer file does. The parent of a bucket root or `/` is itself.
 */
export function parentUri(uri: string): string {
  if (SCHEME.test(uri)) {
    const trimmed = uri.replace(/\/+$/, '');
    const cut = trimmed.lastIndexOf('/');
    const root = (SCHEME.exec(trimmed)?.[0] ?? '').length;
    return cut < root ? trimmed : trimmed.slice(0, cut);
  }
  return dirname(uri);
}

function fileUrlToPath(uri: string): string {
  try {
    return fileURLToPath(uri);
  } catch (error) {
    throw new StorageError('STORAGE_BAD_URI', `'${uri}' is not a usable file:// URL`, {
      hint: 'file URLs need an absolute path and no host: file:///data/run (three slashes)',
      cause: error,
    });
  }
}
