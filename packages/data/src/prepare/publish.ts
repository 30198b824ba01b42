import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError, joinUri, type Logger, parseUri, type Storage } from '@tfmlops/core';
import { type DatasetManifest, LATEST_FILE, MANIFEST_FILE } from '../format/manifest.ts';

const STAGING_PREFIX = '.partial-';

/**
 * Where a version is built before anyone can see it. For a local output the staging directory sits beside the
 * versions (same filesystem, so publishing is one atomic rename); for gs:// it is a local temp directory.
 * The name carries our pid so a later run can tell an abandoned directory (crashed run) from one still in use.
 */
export async function createStagingDir(datasetUri: string): Promise<string> {
  const target = parseUri(datasetUri);
  const parent = target.kind === 'local' ? target.path : tmpdir();
  await mkdir(parent, { recursive: true });
  const dir = join(parent, `${STAGING_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(dir);
  return dir;
}

/** Removes staging directories left by runs that died (their pid is gone). Returns how many were removed. */
export async function removeAbandonedStaging(datasetUri: string, logger: Logger): Promise<number> {
  const target = parseUri(datasetUri);
  if (target.kind !== 'local') return 0;
  let names: string[];
  try {
    names = await readdir(target.path);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    if (!name.startsWith(STAGING_PREFIX)) continue;
    const pid = Number(name.slice(STAGING_PREFIX.length).split('-')[0]);
    if (pid !== process.pid && isAlive(pid)) continue;
    await rm(join(target.path, name), { recursive: true, force: true });
    logger.warn({ dir: name }, 'removed an unfinished dataset left by an interrupted prepare');
    removed += 1;
  }
  return removed;
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Makes a finished staging directory visible as `<datasetUri>/<version>/`. Local: a directory rename, so readers see
 * all of it or none of it. gs://: shards are uploaded first and manifest.json last, and readers only trust a
 * version with a manifest, so an interrupted upload is invisible and the next run (same version) overwrites it.
 * Then `latest.json` is pointed at the version.
 */
export async function publishVersion(
  stagingDir: string,
  datasetUri: string,
  manifest: DatasetManifest,
  storage: Storage,
): Promise<string> {
  const versionUri = joinUri(datasetUri, manifest.version);
  const target = parseUri(versionUri);
  if (target.kind === 'local') {
    if (await isDirectory(target.path)) {
      // Only reached when that copy failed verification (damaged): move it aside, then swap the good one in.
      const aside = `${stagingDir}-damaged`;
      await rename(target.path, aside);
      await rename(stagingDir, target.path);
      await rm(aside, { recursive: true, force: true });
    } else {
      await rename(stagingDir, target.path);
    }
  } else {
    const files = (await readdir(stagingDir)).filter((name) => name !== MANIFEST_FILE).sort();
    for (const name of files) {
      await storage.write(joinUri(versionUri, name), await readFile(join(stagingDir, name)));
    }
    await storage.write(joinUri(versionUri, MANIFEST_FILE), await readFile(join(stagingDir, MANIFEST_FILE)), {
      contentType: 'application/json',
    });
    await rm(stagingDir, { recursive: true, force: true });
  }
  await writeLatest(datasetUri, manifest.version, storage);
  return versionUri;
}

export async function writeLatest(datasetUri: string, version: string, storage: Storage): Promise<void> {
  await storage.write(joinUri(datasetUri, LATEST_FILE), `${JSON.stringify({ version }, null, 2)}\n`, {
    contentType: 'application/json',
  });
}

/** Reads `<datasetUri>/latest.json`; undefined when there is none. */
export async function readLatest(datasetUri: string, storage: Storage): Promise<string | undefined> {
  const uri = joinUri(datasetUri, LATEST_FILE);
  if (!(await storage.exists(uri))) return undefined;
  const parsed = JSON.parse((await storage.read(uri)).toString('utf8')) as { version?: unknown };
  if (typeof parsed.version !== 'string' || !/^[0-9a-f]{16}$/.test(parsed.version)) {
    throw new DataError('DATA_BAD_POINTER', `${uri} does not name a dataset version`, {
      hint: 're-run `pnpm data prepare` to rewrite it',
    });
  }
  return parsed.version;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
