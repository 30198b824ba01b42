import type { ScheduleConfig } from '../train-config.ts';

export interface ScheduleContext {
  /** `train.learningRate`: the peak rate. */
  learningRate: number;
  stepsPerEpoch: number;
  /** Optimizer steps in the whole run (epochs x stepsPerEpoch). */
  totalSteps: number;
}

/**
 * The learning rate of optimizer step `step` (0-based over the whole run), applied before that step: a linear warmup
 * from ~0 to the peak over `warmupEpochs`, then constant, step decay (x gamma every `stepEpochs` epochs) or a cosine
 * from the peak down to `minLearningRate` over the remaining steps (PyTorch's CosineAnnealingLR with T_max = those
 * steps). A pure function of the step, so a resumed run continues on exactly the same curve.
 */
export function learningRateAt(step: number, schedule: ScheduleConfig, context: ScheduleContext): number {
  const { learningRate: peak, stepsPerEpoch, totalSteps } = context;
  const warmupSteps = Math.min(totalSteps, Math.round(schedule.warmupEpochs * stepsPerEpoch));
  if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  switch (schedule.name) {
    case 'constant':
      return peak;
    case 'step': {
      const epoch = Math.floor(step / Math.max(1, stepsPerEpoch));
      return peak * schedule.gamma ** Math.floor(epoch / schedule.stepEpochs);
    }
    case 'cosine': {
      const span = Math.max(1, totalSteps - warmupSteps);
      const progress = Math.min(1, (step - warmupSteps) / span);
      const floor = Math.min(schedule.minLearningRate, peak);
      return floor + ((peak - floor) * (1 + Math.cos(Math.PI * progress))) / 2;
    }
  }
}
