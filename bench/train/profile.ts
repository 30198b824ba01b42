import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { singleProcessStep } from './measure.ts';

/**
 * Where one training step of the bench network spends its time on the current backend: milliseconds per kernel
 * (tf.profile, mean over `steps` profiled steps), largest first. Kernels our wasm kernels call directly are counted
 * in their caller.
 */
export async function profileTrainingStep(
  model: tfl.LayersModel,
  kind: 'minimize' | 'lean' = 'lean',
  steps = 5,
): Promise<{ stepMs: number; rows: Array<[string, number]> }> {
  const { optimizer, step: oneStep } = singleProcessStep(model, kind);
  const xs = tf.randomUniform([64, 28, 28, 1]);
  const ys = tf.oneHot(tf.randomUniform([64], 0, 10, 'int32') as tf.Tensor1D, 10);
  const step = () => {
    const loss = oneStep(xs, ys);
    loss.dataSync();
    loss.dispose();
  };
  for (let i = 0; i < 3; i += 1) step();
  const totals = new Map<string, number>();
  const started = performance.now();
  for (let i = 0; i < steps; i += 1) {
    const info = await tf.profile(step);
    for (const kernel of info.kernels)
      totals.set(kernel.name, (totals.get(kernel.name) ?? 0) + Number(kernel.kernelTimeMs));
  }
  const stepMs = (performance.now() - started) / steps;
  const rows = [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([name, ms]): [string, number] => [name, ms / steps]);
  tf.dispose([xs, ys]);
  optimizer.dispose();
  return { stepMs, rows };
}
