import type * as tfl from '@tensorflow/tfjs-layers';
import { joinUri, type Storage } from '@tfmlops/core';
import { saveModel } from '../save-model.ts';

/**
 * Writes the trained model where `export.uri` says: `<uri>/<name>/<version>/` (model.json + weights.bin), then
 * `<uri>/<name>/latest.json` naming that version, last. Returns the version's URI.
 *
 * Seam: the bundle module's `exportBundle` (bundle.json with labels, normalisation, reference statistics and
 * checksums) replaces this one function when it lands.
 */
export async function exportModel(
  model: tfl.LayersModel,
  options: { storage: Storage; uri: string; name: string; version: string },
): Promise<string> {
  const { storage } = options;
  const root = joinUri(options.uri, options.name);
  const versionUri = joinUri(root, options.version);
  await saveModel(model, versionUri, storage);
  await storage.write(
    joinUri(root, 'latest.json'),
    `${JSON.stringify({ version: options.version }, null, 2)}\n`,
  );
  return versionUri;
}
