import type { io } from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { joinUri, type Storage } from '@tfmlops/core';

/**
 * Saves a LayersModel as TF.js's standard layout (model.json + weights.bin) to any storage URI, local or gs://.
 * tfjs-node's file:// handler is not available on the wasm backend, so this writes through our Storage instead;
 * files are written atomically, weights first so model.json never points at missing weights.
 */
export async function saveModel(model: tfl.LayersModel, uri: string, storage: Storage): Promise<void> {
  const handler: io.IOHandler = {
    save: async (artifacts) => {
      const weights = artifacts.weightData
        ? Buffer.from(
            Array.isArray(artifacts.weightData)
              ? Buffer.concat(artifacts.weightData.map((b) => Buffer.from(b)))
              : Buffer.from(artifacts.weightData),
          )
        : Buffer.alloc(0);
      await storage.write(joinUri(uri, 'weights.bin'), weights);
      const modelJson = {
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      await storage.write(joinUri(uri, 'model.json'), `${JSON.stringify(modelJson)}\n`);
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          weightDataBytes: weights.byteLength,
        },
      };
    },
  };
  await model.save(handler);
}
