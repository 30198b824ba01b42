import type * as tfl from '@tensorflow/tfjs-layers';
import type { NetworkDescription } from './types.ts';

const KINDS: Record<string, string> = {
  Conv2D: 'conv2d',
  MaxPooling2D: 'maxpool2d',
  Flatten: 'flatten',
  Dense: 'linear',
};

/** NHWC (TF.js) output shape without the batch axis, as NCHW (PyTorch). */
function toChannelsFirst(shape: number[]): number[] {
  return shape.length === 3 ? [shape[2]!, shape[0]!, shape[1]!] : shape;
}

/** A TF.js weight shape in PyTorch's layout: conv [kh, kw, in, out] -> [out, in, kh, kw]; dense [in, out] -> [out, in]. */
function toTorchLayout(shape: number[]): number[] {
  if (shape.length === 4) return [shape[3]!, shape[2]!, shape[0]!, shape[1]!];
  if (shape.length === 2) return [shape[1]!, shape[0]!];
  return shape;
}

/**
 * A TF.js layers model in the description PyTorch's peer prints for its own network (bench/peers/torch_train.py), so
 * the two can be compared layer by layer.
 */
export function describeLayersModel(model: tfl.LayersModel): NetworkDescription {
  const layers = model.layers.map((layer) => {
    const className = layer.getClassName();
    const kind = KINDS[className];
    if (!kind) throw new Error(`the bench cannot describe a ${className} layer (${layer.name})`);
    const activation = (layer.getConfig() as { activation?: string }).activation;
    const output = layer.outputShape as (number | null)[];
    return {
      kind: activation && activation !== 'linear' ? `${kind}+${activation}` : kind,
      output: toChannelsFirst(output.slice(1) as number[]),
      parameters: layer.weights.map((weight) => toTorchLayout(weight.shape as number[])),
    };
  });
  return { layers, parameterCount: model.countParams() };
}

/** Every difference between two network descriptions; empty when they are the same network. */
export function compareNetworks(ours: NetworkDescription, theirs: NetworkDescription): string[] {
  const differences: string[] = [];
  const json = (value: unknown) => JSON.stringify(value);
  if (ours.layers.length !== theirs.layers.length)
    differences.push(`layer count: ours ${ours.layers.length}, PyTorch ${theirs.layers.length}`);
  const count = Math.min(ours.layers.length, theirs.layers.length);
  for (let i = 0; i < count; i += 1) {
    const [a, b] = [ours.layers[i]!, theirs.layers[i]!];
    for (const key of ['kind', 'output', 'parameters'] as const) {
      if (json(a[key]) !== json(b[key]))
        differences.push(`layer ${i} ${key}: ours ${json(a[key])}, PyTorch ${json(b[key])}`);
    }
  }
  if (ours.parameterCount !== theirs.parameterCount)
    differences.push(`parameter count: ours ${ours.parameterCount}, PyTorch ${theirs.parameterCount}`);
  return differences;
}
