import { describe, expect, it } from 'vitest';
import { earlyStoppingConfigSchema } from '../train-config.ts';
import { EarlyStopping, type EpochMetrics, MetricMonitor, modeFor } from './metric-monitor.ts';

const epoch = (n: number, values: Partial<EpochMetrics>): EpochMetrics => ({
  epoch: n,
  loss: 1,
  accuracy: 0.5,
  val_loss: 1,
  val_accuracy: 0.5,
  lr: 0.001,
  images_per_second: 100,
  seconds: 1,
  ...values,
});

describe('metric monitor and early stopping', () => {
  it('losses are minimised and accuracies maximised unless the mode says otherwise', () => {
    expect(modeFor('val_loss')).toBe('min');
    expect(modeFor('accuracy')).toBe('max');
    expect(modeFor('val_accuracy', 'min')).toBe('min');
  });

  it('tracks the best epoch, ignores changes within minDelta and never takes NaN as best', () => {
    const monitor = new MetricMonitor('val_accuracy', 'max', 0.01);
    expect(monitor.observe(epoch(1, { val_accuracy: 0.9 }))).toBe(true);
    expect(monitor.observe(epoch(2, { val_accuracy: 0.905 }))).toBe(false);
    expect(monitor.observe(epoch(3, { val_accuracy: Number.NaN }))).toBe(false);
    expect(monitor.observe(epoch(4, { val_accuracy: 0.95 }))).toBe(true);
    expect(monitor.save()).toEqual({ best: 0.95, bestEpoch: 4, epochsWithoutImprovement: 0 });
  });

  it('stops after `patience` epochs without improvement, and a restored state continues the count', () => {
    const config = earlyStoppingConfigSchema.parse({ metric: 'val_loss', patience: 2 })!;
    const stopping = new EarlyStopping(config);
    expect(stopping.update(epoch(1, { val_loss: 0.5 }))).toBe(false);
    expect(stopping.update(epoch(2, { val_loss: 0.6 }))).toBe(false);
    const saved = stopping.monitor.save();
    const resumed = new EarlyStopping(config);
    resumed.monitor.restore(saved);
    expect(resumed.update(epoch(3, { val_loss: 0.55 }))).toBe(true);
    expect(resumed.monitor.bestEpoch).toBe(1);
  });
});
