import { type BackendKind, FusedAdam } from '@tfmlops/runtime';
import type { OptimizerConfig } from '../train-config.ts';
import { FusedAdamOptimizer } from './fused-adam-optimizer.ts';
import { createSlotOptimizer } from './slot-optimizer.ts';
import type { TrainOptimizer } from './types.ts';

/**
 * The optimizer `train.optimizer` names, at `learningRate`. On wasm, Adam without an L2 term and AdamW run as the
 * runtime's FusedAdam (the same update in one SIMD pass per weight); everything else, and every other backend, runs
 * the op-by-op optimizers with PyTorch's rules. Both keep their state in the same slots, so checkpoints move between
 * them.
 */
export function createOptimizer(
  config: OptimizerConfig,
  learningRate: number,
  backend: BackendKind,
): TrainOptimizer {
  const fused = config.name === 'adamw' || (config.name === 'adam' && config.weightDecay === 0);
  if (backend === 'wasm' && fused) {
    return new FusedAdamOptimizer(
      new FusedAdam({
        learningRate,
        beta1: config.beta1,
        beta2: config.beta2,
        epsilon: config.epsilon,
        weightDecay: config.name === 'adamw' ? config.weightDecay : 0,
      }),
    );
  }
  return createSlotOptimizer(config, learningRate);
}
