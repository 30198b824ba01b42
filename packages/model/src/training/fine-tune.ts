import type * as tfl from '@tensorflow/tfjs-layers';
import type { Logger } from '@tfmlops/core';
import type { ModelConfig } from '../architectures/model-config.ts';
import { unfreezeTop } from '../architectures/pretrained.ts';
import type { LoopState } from '../checkpoints/checkpoint-format.ts';

/** `model.unfreeze` of a pretrained model: after `afterEpochs` epochs of head training, the top of the body trains too. */
export type Unfreeze = { topLayers: number; afterEpochs: number; learningRate: number };

export function unfreezeOf(model: ModelConfig): Unfreeze | undefined {
  return model.architecture === 'pretrained' ? model.unfreeze : undefined;
}

/**
 * Whether the loop state lies after the unfreeze, which happens right before the first step of epoch
 * `afterEpochs + 1`: a checkpoint at the end of epoch `afterEpochs` still has the head-only optimizer state.
 */
export function isUnfrozen(
  loop: Pick<LoopState, 'epoch' | 'stepInEpoch'>,
  unfreeze: Unfreeze | undefined,
): boolean {
  if (!unfreeze) return false;
  return loop.epoch > unfreeze.afterEpochs || (loop.epoch === unfreeze.afterEpochs && loop.stepInEpoch > 0);
}

/** Makes the top `topLayers` weighted layers of the frozen body trainable; logs which. */
export function applyUnfreeze(model: tfl.LayersModel, unfreeze: Unfreeze, logger: Logger): void {
  const layers = unfreezeTop(model, unfreeze.topLayers);
  logger.info(
    { layers, learningRate: unfreeze.learningRate, trainableWeights: model.trainableWeights.length },
    `fine-tuning: unfroze ${layers.length} layer(s) of the body`,
  );
}
