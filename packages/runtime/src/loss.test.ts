import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// Gradient definitions come with tfjs-layers (see kernels/index.ts).
import '@tensorflow/tfjs-layers';
import { ConfigError } from '@tfmlops/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { maxRelativeError, seededValues } from './kernels/gradient-check.ts';
import { createLoss, type LossSpec } from './loss.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const [BATCH, CLASSES] = [5, 4];
const LABELS = [0, 3, 1, 1, 2];
const LOGITS = Array.from(seededValues(BATCH * CLASSES, 11), (v) => 3 * v);

/**
 * Smoothed softmax cross-entropy in float64, written from the definition (Szegedy et al. 2016, as Keras and
 * tf.losses apply it): target y·(1 − s) + s/C, loss −Σ target·log softmax(z), mean over the batch. Also returns
 * dLoss/dz = (softmax(z) − target) / batch.
 */
function reference(smoothing: number): { loss: number; grad: Float32Array } {
  let loss = 0;
  const grad = new Float32Array(BATCH * CLASSES);
  for (let b = 0; b < BATCH; b += 1) {
    const z = LOGITS.slice(b * CLASSES, (b + 1) * CLASSES);
    const max = Math.max(...z);
    const logSum = Math.log(z.reduce((sum, v) => sum + Math.exp(v - max), 0)) + max;
    for (let c = 0; c < CLASSES; c += 1) {
      const target = (c === LABELS[b] ? 1 - smoothing : 0) + smoothing / CLASSES;
      loss -= target * (z[c]! - logSum);
      grad[b * CLASSES + c] = (Math.exp(z[c]! - logSum) - target) / BATCH;
    }
  }
  return { loss: loss / BATCH, grad };
}

function evaluate(spec: LossSpec): { loss: number; grad: Float32Array; tfLoss: number } {
  return tf.tidy(() => {
    const labels = tf.oneHot(tf.tensor1d(LABELS, 'int32'), CLASSES);
    const logits = tf.tensor2d(LOGITS, [BATCH, CLASSES]);
    const lossFn = createLoss(spec);
    const { value, grad } = tf.valueAndGrad((z: tf.Tensor) => lossFn(labels, z))(logits);
    const tfLoss = tf.losses.softmaxCrossEntropy(labels, logits, undefined, spec.labelSmoothing ?? 0);
    return {
      loss: value.dataSync()[0]!,
      grad: grad.dataSync() as Float32Array,
      tfLoss: tfLoss.dataSync()[0]!,
    };
  });
}

describe('createLoss', () => {
  it.each([0, 0.1, 0.3])('softmax cross-entropy with label smoothing %f: value and gradient', (smoothing) => {
    const spec: LossSpec = { kind: 'softmax-cross-entropy', labelSmoothing: smoothing };
    const actual = evaluate(spec);
    const expected = reference(smoothing);
    expect(actual.loss).toBeCloseTo(expected.loss, 5);
    expect(actual.loss).toBe(actual.tfLoss);
    expect(maxRelativeError(actual.grad, expected.grad)).toBeLessThan(1e-6);
  });

  it('smoothing changes the loss (the option is not ignored) and no smoothing is the default', () => {
    expect(evaluate({ kind: 'softmax-cross-entropy' }).loss).toBe(
      evaluate({ kind: 'softmax-cross-entropy', labelSmoothing: 0 }).loss,
    );
    expect(evaluate({ kind: 'softmax-cross-entropy', labelSmoothing: 0.1 }).loss).not.toBeCloseTo(
      evaluate({ kind: 'softmax-cross-entropy' }).loss,
      3,
    );
  });

  it('a spec that is not one is a ConfigError', () => {
    expect(() => createLoss({ kind: 'softmax-cross-entropy', labelSmoothing: 1 })).toThrow(ConfigError);
    expect(() => createLoss({ kind: 'softmax-cross-entropy', labelSmoothing: -0.1 })).toThrow(
      /labelSmoothing/,
    );
    expect(() => createLoss({ kind: 'hinge' } as unknown as LossSpec)).toThrow(/invalid loss .*hinge/);
  });
});
