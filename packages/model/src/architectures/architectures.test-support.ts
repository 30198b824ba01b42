import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createTrainStep, FusedAdam, registerWasmTrainingKernels } from '@tfmlops/runtime';

/** Test support: the wasm backend with this project's training kernels, as training uses it. */
export async function useWasm(): Promise<void> {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  await tf.ready();
}

/** A fixed batch of random images and one-hot labels, the same for the same seed. */
export function tinyBatch(shape: [number, number, number], classes: number, size: number, seed: number) {
  return tf.tidy(() => ({
    xs: tf.randomUniform([size, ...shape], 0, 1, 'float32', seed) as tf.Tensor4D,
    ys: tf.oneHot(
      tf.tensor1d(
        Array.from({ length: size }, (_, i) => i % classes),
        'int32',
      ),
      classes,
    ) as tf.Tensor2D,
  }));
}

/**
 * `steps` Adam steps on one batch through the training loop's step (createTrainStep + FusedAdam on wasm); returns
 * the losses and the tensor count after every step.
 */
export function trainSteps(
  model: tfl.LayersModel,
  batch: { xs: tf.Tensor; ys: tf.Tensor },
  steps: number,
  learningRate = 0.01,
): { losses: number[]; tensorCounts: number[] } {
  const optimizer = new FusedAdam({ learningRate });
  const step = createTrainStep(
    model,
    optimizer,
    (labels, logits) => tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar,
  );
  const losses: number[] = [];
  const tensorCounts: number[] = [];
  for (let i = 0; i < steps; i += 1) {
    const loss = step(batch.xs, batch.ys);
    losses.push(loss.dataSync()[0]!);
    loss.dispose();
    tensorCounts.push(tf.memory().numTensors);
  }
  optimizer.dispose();
  return { losses, tensorCounts };
}

/** Saves through TF.js's save path into memory and loads the artifacts back with tf.io.fromMemory. */
export async function saveAndReload(model: tfl.LayersModel): Promise<tfl.LayersModel> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return tfl.loadLayersModel(tf.io.fromMemory(saved!));
}

/** Every weight's values, in model order. */
export function weightValues(model: tfl.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}

/** Inference-mode predictions as plain numbers. */
export function predictValues(model: tfl.LayersModel, xs: tf.Tensor): Float32Array {
  return tf.tidy(() => (model.predict(xs) as tf.Tensor).dataSync() as Float32Array);
}
