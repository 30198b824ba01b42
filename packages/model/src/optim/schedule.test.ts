import { describe, expect, it } from 'vitest';
import { scheduleConfigSchema } from '../train-config.ts';
import { learningRateAt } from './schedule.ts';

const context = { learningRate: 0.1, stepsPerEpoch: 10, totalSteps: 50 };
const at = (schedule: object, step: number) =>
  learningRateAt(step, scheduleConfigSchema.parse(schedule), context);

describe('learningRateAt', () => {
  it('constant stays at the peak', () => {
    expect([0, 17, 49].map((step) => at({}, step))).toEqual([0.1, 0.1, 0.1]);
  });

  it('warms up linearly over warmupEpochs (in steps), reaching the peak on the last warmup step', () => {
    const schedule = { warmupEpochs: 0.5 };
    expect([0, 1, 4, 5, 30].map((step) => at(schedule, step))).toEqual([0.02, 0.04, 0.1, 0.1, 0.1]);
  });

  it('step decay multiplies by gamma every stepEpochs epochs', () => {
    const schedule = { name: 'step', stepEpochs: 2, gamma: 0.5 };
    expect([0, 19, 20, 39, 40].map((step) => at(schedule, step))).toEqual([0.1, 0.1, 0.05, 0.05, 0.025]);
  });

  it('cosine falls from the peak after warmup towards minLearningRate, halfway at mid-run', () => {
    const schedule = { name: 'cosine', warmupEpochs: 1, minLearningRate: 0.01 };
    expect(at(schedule, 9)).toBeCloseTo(0.1, 12); // end of warmup
    expect(at(schedule, 10)).toBeCloseTo(0.1, 12); // first cosine step
    expect(at(schedule, 30)).toBeCloseTo(0.055, 12); // 20 of 40 cosine steps: half way between 0.1 and 0.01
    const last = at(schedule, 49);
    expect(last).toBeGreaterThan(0.01);
    expect(last).toBeLessThan(0.0102);
    const curve = Array.from({ length: 40 }, (_, i) => at(schedule, 10 + i));
    expect(curve.every((lr, i) => i === 0 || lr < (curve[i - 1] as number))).toBe(true);
  });
});
