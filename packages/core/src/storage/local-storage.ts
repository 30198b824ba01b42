import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StorageError } from '../errors.ts';
import type { StorageEntry } from './types.ts';

/**
 * Local-disk backend. Every write goes to a temp file beside the target, is fsynced, then renamed over it, so a
 * crash or a failing source stream never leaves a half-written file under the real name.
 */
export class LocalBackend {
  async read(path: string): Promise<Buffer> {
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

  async write(path: string, data: Buffer | Uint8Array | string): Promise<void> {
    await this.writeStream(path, Readable.from([typeof data === 'string' ? Buffer.from(data) : data]));
  }

  async writeStream(path: string, source: Readable | AsyncIterable<Uint8Array>): Promise<void> {
    await mkdir(dirname(path), { recursive: true }).catch((error) => {
      throw mapError(error, dirname(path), 'create directory');
    });
    const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await pipeline(source, createWriteStream(temp, { flags: 'wx' }));
      const handle = await open(temp, 'r');
      await handle.sync().finally(() => handle.close());
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error instanceof StorageError ? error : mapError(error, path, 'write');
    }
  }

  async list(prefix: string): Promise<StorageEntry[]> {
    const entries: StorageEntry[] = [];
    const walk = async (dir: string): Promise<void> => {
      let children: import('node:fs').Dirent[];
      try {
        children = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if (
          (error as NodeJS.ErrnoException).code === 'ENOENT' ||
          (error as NodeJS.ErrnoException).code === 'ENOTDIR'
        )
          return;
        throw mapError(error, dir, 'list');
      }
      for (const child of children) {
        const full = join(dir, child.name);
        if (child.isDirectory()) await walk(full);
        else if (child.isFile() && !isTempFile(child.name)) {
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
    } catch {
      return false;
    }
  }

  async delete(path: string): Promise<void> {
    await unlink(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw mapError(error, path, 'delete');
    });
  }

  async deleteTree(prefix: string): Promise<void> {
    await rm(prefix, { recursive: true, force: true });
  }

  private async assertFile(path: string): Promise<void> {
    try {
      if (!(await stat(path)).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    } catch (error) {
      throw mapError(error, path, 'read');
    }
  }
}

function isTempFile(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

function mapError(error: unknown, path: string, action: string): StorageError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return new StorageError('STORAGE_NOT_FOUND', `cannot ${action} ${path}: no such file`, {
      hint: 'check the path (relative paths resolve from the current directory)',
      cause: error,
    });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new StorageError('STORAGE_FORBIDDEN', `cannot ${action} ${path}: permission denied`, {
      hint: 'check the file permissions or choose another directory',
      cause: error,
    });
  }
  if (code === 'EISDIR') {
    return new StorageError('STORAGE_NOT_A_FILE', `cannot ${action} ${path}: it is a directory`, {
      cause: error,
    });
  }
  return new StorageError('STORAGE_IO', `cannot ${action} ${path}: ${(error as Error).message}`, {
    cause: error,
  });
}
