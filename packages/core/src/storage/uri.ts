import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StorageError } from '../errors.ts';

export type ParsedUri = { kind: 'local'; path: string } | { kind: 'gcs'; bucket: string; key: string };

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const SUPPORTED = 'a local path, file:///absolute/path or gs://bucket/prefix';

export function isGcsUri(uri: string): boolean {
  return uri.startsWith('gs://');
}

/** Splits a storage URI into its backend and location. Relative local paths resolve against the cwd. */
export function parseUri(uri: string): ParsedUri {
  if (uri.trim() === '') {
    throw new StorageError('STORAGE_BAD_URI', 'empty storage URI', { hint: `give ${SUPPORTED}` });
  }
  const scheme = SCHEME.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'local', path: resolve(uri) };
  if (scheme === 'file') return { kind: 'local', path: fileURLToPath(uri) };
  if (scheme === 'gs') {
    const rest = uri.slice('gs://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    if (!/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(bucket)) {
      throw new StorageError('STORAGE_BAD_URI', `'${uri}' does not name a valid bucket`, {
        hint: 'bucket names are 3-222 lowercase letters, digits, dots, dashes or underscores: gs://my-bucket/path',
      });
    }
    return { kind: 'gcs', bucket, key: slash < 0 ? '' : rest.slice(slash + 1) };
  }
  throw new StorageError(
    'STORAGE_UNSUPPORTED_SCHEME',
    `unsupported storage URI scheme '${scheme}://' in '${uri}'`,
    {
      hint: `use ${SUPPORTED}`,
    },
  );
}

/** Appends a relative path (with `/` separators) to a storage URI or local path. */
export function joinUri(base: string, relativePath: string): string {
  if (isGcsUri(base) || SCHEME.test(base)) {
    return `${base.replace(/\/+$/, '')}/${relativePath.replace(/^\/+/, '')}`;
  }
  return isAbsolute(relativePath) ? relativePath : join(base, relativePath);
}
