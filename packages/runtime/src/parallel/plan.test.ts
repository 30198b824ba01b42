import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError, exitCodeFor } from '@tfmlops/core';
import { describe, expect, it } from 'vitest';
import { CHANNEL_SCALE_SETUP, ChannelScale } from './fixtures/channel-scale.ts';
import {
  batchNormalizationLayers,
  classesWorkersLack,
  dataParallelWorkersFor,
  planDataParallel,
} from './plan.ts';
import { serializedClasses } from './worker-setup.ts';

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

/** A custom layer inside a nested block, behind a wrapper: where a ViT's layers can sit. */
function withCustomLayer(): tfl.LayersModel {
  const blockInput = tfl.input({ shape: [5, 4] });
  const scaled = tfl.layers
    .timeDistributed({ layer: new ChannelScale({ name: 'scale_tokens' }), name: 'per_token' })
    .apply(blockInput) as tfl.SymbolicTensor;
  const block = tfl.model({ inputs: blockInput, outputs: scaled, name: 'block' });
  const input = tfl.input({ shape: [5, 4] });
  const pooled = tfl.layers.flatten().apply(block.apply(input) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
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
      const plan = planDataParallel({ dataParallelWorkers: 'auto' }, 'wasm', model, { cores });
      expect(plan.workers).toBe(0);
      expect(plan.reason).toMatch(/layer 'block1_bn' is BatchNormalization: .*own statistics/);
    }
  });

  it('an explicit worker count for a batch-norm net is a ConfigError naming the layer (exit 2), on every backend', () => {
    const model = withBatchNorm();
    for (const backend of ['wasm', 'tensorflow'] as const) {
      const error = (() => {
        try {
          planDataParallel({ dataParallelWorkers: 1 }, backend, model, { cores: 2 });
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
    expect(planDataParallel({ dataParallelWorkers: 0 }, 'wasm', model, { cores: 2 }).workers).toBe(0);
  });

  it('without batch norm: wasm uses every core but one under auto, native backends none, explicit counts as given', () => {
    const model = plain();
    expect(batchNormalizationLayers(model)).toEqual([]);
    const plan = (config: Parameters<typeof planDataParallel>[0], backend = 'wasm' as const, cores = 2) =>
      planDataParallel(config, backend, model, { cores });
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
      expect(planDataParallel({ dataParallelWorkers: 'auto' }, native, model, { cores: 8 })).toMatchObject({
        workers: 0,
        reason: expect.stringMatching(/multi-threaded itself/),
      });
    }
  });

  it('finds every class a model names, nested and wrapped ones with their layer', () => {
    const classes = serializedClasses(withCustomLayer().toJSON(null, false));
    expect(classes).toContainEqual({ className: 'ChannelScale', layer: 'scale_tokens' });
    expect(classes).toContainEqual({ className: 'TimeDistributed', layer: 'per_token' });
    expect(classes.map((c) => c.className)).toEqual(
      expect.arrayContaining(['Model', 'InputLayer', 'Dense', 'VarianceScaling', 'Zeros', 'Flatten']),
    );
    expect(classesWorkersLack(withCustomLayer(), [])).toEqual([
      { className: 'ChannelScale', layer: 'scale_tokens' },
    ]);
    expect(classesWorkersLack(withCustomLayer(), [CHANNEL_SCALE_SETUP])).toEqual([]);
    expect(classesWorkersLack(plain(), [])).toEqual([]);
  });

  it('never picks workers for a model they could not rebuild: auto says which layer, an explicit count is a ConfigError', () => {
    const model = withCustomLayer();
    expect(planDataParallel({ dataParallelWorkers: 'auto' }, 'wasm', model, { cores: 4 })).toEqual({
      workers: 0,
      reason: expect.stringMatching(
        /^layer 'scale_tokens' is a ChannelScale, a class the worker threads could not/,
      ),
    });
    const error = (() => {
      try {
        planDataParallel({ dataParallelWorkers: 2 }, 'wasm', model, { cores: 4 });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(
      /dataParallelWorkers=2 .*could not rebuild this model: layer 'scale_tokens' is a ChannelScale/,
    );
    expect((error as ConfigError).hint).toMatch(/auto or 0 .*WorkerSetup/);
    expect(exitCodeFor(error)).toBe(2);
    expect(planDataParallel({ dataParallelWorkers: 0 }, 'wasm', model, { cores: 4 }).workers).toBe(0);
    // Native backends never start workers, so the question does not arise there.
    expect(planDataParallel({ dataParallelWorkers: 2 }, 'tensorflow', model).workers).toBe(0);
  });

  it('with a worker setup that registers the class, the model is split like any other', () => {
    const setup = [CHANNEL_SCALE_SETUP];
    const model = withCustomLayer();
    expect(planDataParallel({ dataParallelWorkers: 'auto' }, 'wasm', model, { cores: 4, setup })).toEqual({
      workers: 3,
      reason: 'auto: 4 cores, one for the main thread',
    });
    expect(planDataParallel({ dataParallelWorkers: 2 }, 'wasm', model, { setup }).workers).toBe(2);
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
            planDataParallel(config, backend, model, { cores }).workers,
          );
        }
      }
    }
  });
});
