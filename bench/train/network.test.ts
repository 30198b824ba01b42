import * as tf from '@tensorflow/tfjs-core';
import { realMachineProbes, selectBackend } from '@tfmlops/runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import { benchNetwork } from './measure.ts';
import { compareNetworks, describeLayersModel } from './network.ts';
import type { NetworkDescription } from './types.ts';

/** What bench/peers/torch_train.py --describe prints for its nn.Sequential (PyTorch 1.13). */
const TORCH_CNN: NetworkDescription = {
  layers: [
    { kind: 'conv2d+relu', output: [32, 26, 26], parameters: [[32, 1, 3, 3], [32]] },
    { kind: 'maxpool2d', output: [32, 13, 13], parameters: [] },
    { kind: 'conv2d+relu', output: [64, 11, 11], parameters: [[64, 32, 3, 3], [64]] },
    { kind: 'maxpool2d', output: [64, 5, 5], parameters: [] },
    { kind: 'flatten', output: [1600], parameters: [] },
    { kind: 'linear+relu', output: [128], parameters: [[128, 1600], [128]] },
    { kind: 'linear', output: [10], parameters: [[10, 128], [10]] },
  ],
  parameterCount: 225_034,
};

beforeAll(async () => {
  // The cpu backend needs no probe of the machine; the probes are never consulted for it.
  await selectBackend({ backend: 'cpu' }, { probes: realMachineProbes({}) });
});

describe('the bench network against PyTorch', () => {
  it("createCnn describes as the PyTorch peer's network (NHWC -> NCHW, kernels in PyTorch's layout)", () => {
    const model = benchNetwork();
    const ours = describeLayersModel(model);
    model.dispose();
    expect(tf.getBackend()).toBe('cpu');
    expect(ours).toEqual(TORCH_CNN);
    expect(compareNetworks(ours, TORCH_CNN)).toEqual([]);
  });

  it('names every difference: a layer, a shape, the parameter count', () => {
    const other: NetworkDescription = {
      layers: [
        { ...TORCH_CNN.layers[0]!, parameters: [[16, 1, 3, 3], [16]], output: [16, 26, 26] },
        ...TORCH_CNN.layers.slice(1, 6),
      ],
      parameterCount: 1,
    };
    expect(compareNetworks(TORCH_CNN, other)).toEqual([
      'layer count: ours 7, PyTorch 6',
      'layer 0 output: ours [32,26,26], PyTorch [16,26,26]',
      'layer 0 parameters: ours [[32,1,3,3],[32]], PyTorch [[16,1,3,3],[16]]',
      'parameter count: ours 225034, PyTorch 1',
    ]);
  });
});
