import { joinUri, type Storage } from '@tfmlops/core';
import { MODEL_FILE } from '../bundle/format.ts';
import { readBundleManifest, resolveBundle, verifyBundleFiles } from '../bundle/read-bundle.ts';

/**
 * Where `model.uri` of a pretrained model points, as the model.json directory to read: an https URL or a plain
 * TF.js model (a directory with model.json, or model.json itself) as written; a model bundle (its directory,
 * bundle.json, a latest.json pointer, or an experiment's bundle root such as `artifacts/models/exp2-base`) is
 * resolved to its version directory after every file's checksum is verified, as `loadBundle` does.
 */
export async function resolvePretrainedUri(uri: string, storage: Storage): Promise<string> {
  if (/^https?:\/\//i.test(uri) || uri.endsWith(MODEL_FILE)) return uri;
  if (await storage.exists(joinUri(uri, MODEL_FILE))) {
    if (!(await storage.exists(joinUri(uri, 'bundle.json')))) return uri;
  }
  const { dir, pointer } = await resolveBundle(uri, storage);
  const { manifest } = await readBundleManifest(dir, storage, pointer?.bundleSha256);
  await verifyBundleFiles(dir, manifest, storage);
  return dir;
}
