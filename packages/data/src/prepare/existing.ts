import { joinUri, type Logger, type Storage } from '@tfmlops/core';
import type { DatasetManifest } from '../format/manifest.ts';
import { openDataset } from '../format/open-dataset.ts';
import { readLatest } from './publish.ts';

/**
 * Finds a published version built from the same inputs and parameters (same `inputsHash`) whose files still verify.
 * latest.json's version is tried first; a damaged candidate is reported and ignored, so prepare rebuilds it.
 */
export async function findUpToDateVersion(
  datasetUri: string,
  inputsHash: string,
  storage: Storage,
  logger: Logger,
): Promise<{ manifest: DatasetManifest; uri: string } | undefined> {
  const versions = new Set<string>();
  const latest = await readLatest(datasetUri, storage).catch(() => undefined);
  if (latest) versions.add(latest);
  for (const entry of await storage.list(datasetUri)) {
    const match = /^([0-9a-f]{16})\/manifest\.json$/.exec(entry.relativePath);
    if (match) versions.add(match[1] as string);
  }
  for (const version of versions) {
    const uri = joinUri(datasetUri, version);
    try {
      const manifestText = (await storage.read(joinUri(uri, 'manifest.json'))).toString('utf8');
      if ((JSON.parse(manifestText) as { inputsHash?: unknown }).inputsHash !== inputsHash) continue;
      const dataset = await openDataset(uri, { storage, verify: 'eager', memoryBudgetBytes: 0 });
      return { manifest: dataset.manifest, uri };
    } catch (error) {
      logger.warn(
        { version, error: (error as Error).message },
        'existing dataset version is damaged; rebuilding it',
      );
    }
  }
  return undefined;
}
