import * as tf from '@tensorflow/tfjs-core';
import { FusedBatchNorm, type GradConfig, getGradient, registerGradient } from '@tensorflow/tfjs-core';

/**
 * The gradient of FusedBatchNorm (`tf.batchNorm`, which tfjs-layers' BatchNormalization runs) for per-channel
 * statistics, the case every NHWC batch norm is: x [n, h, w, c] and mean, variance, scale, offset [c].
 *
 * tfjs-core 4.22's own gradient tiles rsqrt(variance) to the full size of x before multiplying it into dy, and
 * runs ~15 full-size element-wise passes per batch-norm layer besides; on wasm `tile` alone is slower than the
 * convolution it follows. The same derivatives with per-channel factors broadcast and the two reductions shared:
 *   r = 1/√(variance + ε), s = scale (1 without one), Σ = sum over n, h, w
 *   dx = dy·(r·s)        dmean = −r·s·Σdy        dvariance = −½·r³·s·Σ(dy·(x − mean))
 *   dscale = r·Σ(dy·(x − mean))        doffset = Σdy
 * five full-size passes in all. The two sums are taken in the gradient function itself, as tfjs-core's takes its
 * shared terms: the tape then asks for whichever inputs lead to a trainable variable, and in training all five do.
 * Any other shape of statistics goes to the stock gradient.
 */
export function broadcastingBatchNormGrad(stock: GradConfig): GradConfig {
  return {
    kernelName: FusedBatchNorm,
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
      const perChannel =
        x.rank === 4 &&
        [mean, variance, scale].every((t) => t == null || (t.rank === 1 && t.shape[0] === x.shape[3]));
      if (!perChannel) return stock.gradFunc(dy, saved, attrs);
      const gradient = dy as tf.Tensor;
      const { varianceEpsilon } = attrs as { varianceEpsilon: number };
      const axes = [0, 1, 2];
      const r = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
      const rs = scale == null ? r : tf.mul(r, scale);
      const [sumDy, sumDyCentred] = tf.tidy(() => [
        tf.sum(gradient, axes),
        tf.sum(tf.mul(gradient, tf.sub(x, mean)), axes),
      ]);
      return {
        x: () => tf.mul(gradient, rs),
        mean: () => tf.mul(tf.neg(rs), sumDy!),
        variance: () => tf.mul(tf.mul(tf.mul(tf.pow(r, 3), -0.5), scale ?? 1), sumDyCentred!),
        scale: () => tf.mul(r, sumDyCentred!),
        offset: () => tf.reshape(sumDy!, mean.shape),
      };
    },
  };
}

let stockGradient: GradConfig | undefined;
let ours: GradConfig | undefined;

/**
 * Replaces tfjs-core gradients that are slow on wasm with equivalent ones (today FusedBatchNorm's, see
 * broadcastingBatchNormGrad). Gradients are registered per kernel for every backend, and these compute the same
 * derivatives on each. Idempotent; registerWasmTrainingKernels calls it.
 */
export function registerGradientOverrides(): void {
  const current = getGradient(FusedBatchNorm);
  if (current && current === ours) return;
  if (!current)
    throw new Error('tfjs-core has no FusedBatchNorm gradient to replace: import tfjs-layers first');
  stockGradient = current;
  ours = broadcastingBatchNormGrad(current);
  registerGradient(ours);
}

/** Puts tfjs-core's own gradients back (to compare against them); registerGradientOverrides replaces them again. */
export function restoreStockGradients(): void {
  if (stockGradient && getGradient(FusedBatchNorm) === ours) registerGradient(stockGradient);
}
