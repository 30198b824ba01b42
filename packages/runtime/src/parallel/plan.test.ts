import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError, exitCodeFor } from '@tfmlops/core';
import { describe, expect, it } from 'vitest';
import { batchNormalizationLayers, dataParallelWorkersFor, planDataParallel } from './plan.ts';

const plain = () =>
  tfl.sequential({
    layers: [tfl.layers.dense({ inputShape: [4], units: 8 }), tfl.layers.dense({ units: 3 })],
  });

/** Conv + batch norm + residual add, as the ResNet family has them; the batch norm sits in a nested block. */
function withBatchNorm(): tfl.LayersModel {
  const blockInput = tfl.input({ shape: [8, 8, 4] });
  const conv = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }).apply(blockInput);
  const normed = tfl.layers.batchNormalization({ name: 'block1_bn' }).apply(conv) as tfl.SymbolicTensor;
  const block = tfl.model({
    inputs: blockInput,
    outputs: tfl.layers.add().apply([normed, blockInput]) as tfl.SymbolicTensor,
  });
  const input = tfl.input({ shape: [8, 8, 4] });
  const pooled = tfl.layers.globalAveragePooling2d({}).apply(block.apply(input) as tfl.SymbolicTensor);
  return tfl.model({
    inputs: input,
    outputs: tfl.layers.dense({ units: 3 }).apply(pooled) as tfl.SymbolicTensor,
  });
}

describe('planDataParallel', () => {
  it('never splits a batch-norm net: auto picks 0 and says which layer, on any core count', () => {
    const model = withBatchNorm();
    expect(batchNormalizationLayers(model)).toEqual(['block1_bn']);
    for (const cores of [2, 8]) {
      const plan = planDataParallel({ dataParallelWorkers: 'auto' }, 'wasm', model, cores);
      expect(plan.workers).toBe(0);
      expect(plan.reason).toMatch(/layer 'block1_bn' is BatchNormalization: .*own statistics/);
    }
  });

  it('an explicit worker count for a batch-norm net is a ConfigError naming the layer (exit 2), on every backend', () => {
    const model = withBatchNorm();
    for (const backend of ['wasm', 'tensorflow'] as const) {
      const error = (() => {
        try {
          planDataParallel({ dataParallelWorkers: 1 }, backend, model, 2);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toMatch(
        /dataParallelWorkers=1 .*layer 'block1_bn' is BatchNormalization/,
      );
      expect((error as ConfigError).hint).toMatch(/auto or 0 .*runtime\.threads/);
      expect(exitCodeFor(error)).toBe(2);
    }
    expect(planDataParallel({ dataParallelWorkers: 0 }, 'wasm', model, 2).workers).toBe(0);
  });

  it('without batch norm: wasm uses every core but one under auto, native backends none, explicit counts as given', () => {
    const model = plain();
    expect(batchNormalizationLayers(model)).toEqual([]);
    const plan = (config: Parameters<typeof planDataParallel>[0], backend = 'wasm' as const, cores = 2) =>
      planDataParallel(config, backend, model, cores);
    expect(plan({ dataParallelWorkers: 'auto' })).toEqual({
      workers: 1,
      reason: 'auto: 2 cores, one for the main thread',
    });
    expect(plan({ dataParallelWorkers: 'auto' }, 'wasm', 1).workers).toBe(0);
    expect(plan({ dataParallelWorkers: 'auto', threads: 2 })).toMatchObject({
      workers: 0,
      reason: expect.stringMatching(/runtime\.threads=2/),
    });
    expect(plan({ dataParallelWorkers: 3 })).toEqual({ workers: 3, reason: 'runtime.dataParallelWorkers=3' });
    expect(plan({ dataParallelWorkers: 0 }, 'wasm', 8).workers).toBe(0);
    for (const native of ['tensorflow-gpu', 'tensorflow', 'cpu'] as const) {
      expect(planDataParallel({ dataParallelWorkers: 'auto' }, native, model, 8)).toMatchObject({
        workers: 0,
        reason: expect.stringMatching(/multi-threaded itself/),
      });
    }
  });

  it('dataParallelWorkersFor (no model yet) gives the count planDataParallel gives a net without batch norm', () => {
    const model = plain();
    for (const config of [
      { dataParallelWorkers: 'auto' as const },
      { dataParallelWorkers: 'auto' as const, threads: 2 },
      { dataParallelWorkers: 3 },
      { dataParallelWorkers: 0 },
    ]) {
      for (const backend of ['wasm', 'tensorflow'] as const) {
        for (const cores of [1, 2, 8]) {
          expect(dataParallelWorkersFor(config, backend, cores)).toBe(
            planDataParallel(config, backend, model, cores).workers,
          );
        }
      }
    }
  });
});
