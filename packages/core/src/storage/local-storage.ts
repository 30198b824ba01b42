import { randomBytes } from 'node:crypto';
import { createReadStream, type Dirent } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { StorageError } from '../errors.ts';
import type { StorageEntry, WriteOptions } from './types.ts';

/** Temp files are `.<name>.<12 hex>.tmp` beside their target; listings skip them. */
const TEMP_FILE = /^\..*\.[0-9a-f]{12}\.tmp$/;
/** Keeps temp names under the usual 255-byte file name limit even for long targets. */
const MAX_TEMP_STEM = 160;

/**
 * Local-disk backend. Every write goes to a temp file beside the target, is fsynced, then renamed over it (or hard
 * linked, for create-only writes), so a crash or a failing source never leaves a half-written file under the real
 * name, and readers see either the old or the new content.
 */
export class LocalBackend {
  async read(path: string): Promise<Buffer> {
    await this.assertFile(path);
    try {
      return await readFile(path);
    } catch (error) {
      throw mapError(error, path, 'read');
    }
  }

  async readStream(path: string): Promise<Readable> {
    await this.assertFile(path);
    return createReadStream(path);
  }

  async write(path: string, data: Buffer | Uint8Array | string, options: WriteOptions = {}): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    await this.writeStream(path, Readable.from([bytes]), options);
  }

  async writeStream(
    path: string,
    source: Readable | AsyncIterable<Uint8Array>,
    options: WriteOptions = {},
  ): Promise<void> {
    const dir = dirname(path);
    await mkdir(dir, { recursive: true }).catch((error: unknown) => {
      throw mapError(error, dir, 'create directory for');
    });
    const temp = join(
      dir,
      `.${basename(path).slice(0, MAX_TEMP_STEM)}.${randomBytes(6).toString('hex')}.tmp`,
    );
    try {
      await writeDurably(temp, source);
      if (options.ifNotExists) {
        // link() fails if the target exists, atomically; rename() would silently replace it.
        await link(temp, path).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'EEXIST') throw alreadyExists(path, error);
          throw error;
        });
        await unlink(temp);
      } else {
        await rename(temp, path);
      }
      await syncDirectory(dir);
    } catch (error) {
      await rm(temp, { force: true });
      throw error instanceof StorageError ? error : mapError(error, path, 'write');
    }
  }

  /** Every file under a directory, recursively, sorted; a missing directory (or a file) lists as empty. */
  async list(prefix: string): Promise<StorageEntry[]> {
    const entries: StorageEntry[] = [];
    const walk = async (dir: string): Promise<void> => {
      let children: Dirent[];
      try {
        children = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw mapError(error, dir, 'list');
      }
      for (const child of children) {
        const full = join(dir, child.name);
        if (child.isDirectory()) await walk(full);
        else if (child.isFile() && !TEMP_FILE.test(child.name)) {
          const { size } = await stat(full);
          entries.push({ uri: full, relativePath: relative(prefix, full).split(sep).join('/'), size });
        }
      }
    };
    await walk(prefix);
    return entries.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
  }

  async exists(path: string): Promise<boolean> {
    try {
      return (await stat(path)).isFile();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw mapError(error, path, 'check');
    }
  }

  async delete(path: string): Promise<void> {
    await unlink(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw mapError(error, path, 'delete');
    });
  }

  /** Removes a directory and everything in it; like GCS prefixes, a plain file is not a tree and is left alone. */
  async deleteTree(prefix: string): Promise<void> {
    const found = await stat(prefix).catch(() => undefined);
    if (!found?.isDirectory()) return;
    await rm(prefix, { recursive: true, force: true }).catch((error: unknown) => {
      throw mapError(error, prefix, 'delete');
    });
  }

  private async assertFile(path: string): Promise<void> {
    let isFile: boolean;
    try {
      isFile = (await stat(path)).isFile();
    } catch (error) {
      throw mapError(error, path, 'read');
    }
    if (!isFile) {
      throw new StorageError('STORAGE_NOT_A_FILE', `cannot read ${path}: it is a directory`, {
        hint: 'give the path of a file; use list() for the files under a directory',
      });
    }
  }
}

/**
 * Writes the source to a new file and fsyncs it, so after the rename the content is durable, not just visible.
 * The file handle is ours and is closed before this settles, success or failure: with a write stream, a failing
 * source could settle the pipeline while the temp file was still being opened, and the cleanup would miss it.
 */
async function writeDurably(path: string, source: Readable | AsyncIterable<Uint8Array>): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      for (let offset = 0; offset < bytes.length; ) {
        offset += (await handle.write(bytes, offset, bytes.length - offset)).bytesWritten;
      }
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes the rename itself durable; some filesystems cannot fsync a directory, which is no reason to fail. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    await handle.sync().finally(() => handle.close());
  } catch {
    // best effort
  }
}

function alreadyExists(path: string, cause: unknown): StorageError {
  return new StorageError('STORAGE_EXISTS', `cannot create ${path}: it already exists`, {
    hint: 'this write must not replace an existing file; pick a new name or delete the old one first',
    cause,
  });
}

function mapError(error: unknown, path: string, action: string): StorageError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return new StorageError('STORAGE_NOT_FOUND', `cannot ${action} ${path}: no such file`, {
      hint: 'check the path (relative paths resolve from the current directory)',
      cause: error,
    });
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new StorageError('STORAGE_FORBIDDEN', `cannot ${action} ${path}: permission denied (${code})`, {
      hint: 'check the file permissions or choose another directory',
      cause: error,
    });
  }
  if (code === 'ENOTDIR' || code === 'EEXIST') {
    return new StorageError('STORAGE_NOT_A_DIRECTORY', `cannot ${action} ${path}: a parent is a file`, {
      hint: 'a file is in the way of this path; move it or choose another path',
      cause: error,
    });
  }
  if (code === 'ENOSPC') {
    return new StorageError('STORAGE_FULL', `cannot ${action} ${path}: no space left on the device`, {
      hint: 'free disk space or write to another volume',
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new StorageError('STORAGE_IO', `cannot ${action} ${path}: ${message}`, { cause: error });
}
