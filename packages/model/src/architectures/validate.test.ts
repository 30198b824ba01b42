import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, createStorage, exitCodeFor } from '@tfmlops/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveModel } from '../save-model.ts';
import { modelConfigSchema } from './model-config.ts';
import { HEAD_DEFAULTS } from './pretrained.ts';
import { createResnet, RESNET_DEFAULTS } from './resnet.ts';
import type { InputShape } from './types.ts';
import { resnetStageSides, validateArchitecture } from './validate.ts';
import { VIT_DEFAULTS } from './vit.ts';

const storage = createStorage();
let dir: string;
let resnetUri: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'validate-'));
  resnetUri = join(dir, 'resnet');
  const model = createResnet({ inputShape: [8, 8, 3], numClasses: 2, seed: 1, width: 4, stages: 2 });
  await saveModel(model, resnetUri, storage);
  model.dispose();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The ConfigError validation raises for a model section (parsed as the config loader does). */
async function configError(model: unknown, inputShape: InputShape = [28, 28, 1], classes = 10) {
  const error = await validateArchitecture(modelConfigSchema.parse(model), inputShape, classes, {
    storage,
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  expect(exitCodeFor(error)).toBe(2);
  return error as ConfigError;
}

describe('validateArchitecture', () => {
  it('accepts the defaults of every architecture on MNIST and CIFAR shapes', async () => {
    for (const shape of [
      [28, 28, 1],
      [32, 32, 3],
    ] as InputShape[]) {
      await validateArchitecture(modelConfigSchema.parse(undefined), shape, 10);
      await validateArchitecture(modelConfigSchema.parse({ architecture: 'resnet' }), shape, 10);
      await validateArchitecture(modelConfigSchema.parse({ architecture: 'vit', patchSize: 4 }), shape, 10);
    }
    await validateArchitecture(modelConfigSchema.parse({ architecture: 'vit' }), [28, 28, 1], 10);
  });

  it('says which patch sizes fit when the patch does not divide the image', async () => {
    const error = await configError({ architecture: 'vit', patchSize: 5 });
    expect(error.message).toBe('model.patchSize 5 does not divide 28; patch sizes that fit: 2, 4, 7, 14');
    const wide = await configError({ architecture: 'vit', patchSize: 5 }, [24, 36, 3]);
    expect(wide.message).toMatch(/does not divide 24x36; patch sizes that fit: 2, 3, 4, 6, 12$/);
    expect((await configError({ architecture: 'vit', patchSize: 3 }, [32, 32, 3])).message).toMatch(
      /fit: 2, 4, 8, 16$/,
    );
  });

  it('says which head counts divide dim, and which dims the heads would fit', async () => {
    const error = await configError({ architecture: 'vit', dim: 64, heads: 5 });
    expect(error.message).toBe(
      'model.heads 5 does not divide model.dim 64; head counts that fit dim 64: 1, 2, 4, 8, 16, 32, 64',
    );
    expect(error.hint).toBe('or make dim a multiple of 5, such as 60 or 65');
  });

  it('says how many ResNet stages the image size allows', async () => {
    expect(resnetStageSides(28, 6)).toEqual([28, 14, 7, 4, 2, 1]);
    const error = await configError({ architecture: 'resnet', stages: 6 });
    expect(error.message).toMatch(/model.stages 6 is too deep for 28x28 images/);
    expect(error.hint).toBe('at most 5 stage(s) fit (28 -> 14 -> 7 -> 4 -> 2); set model.stages <= 5');
    expect((await configError({ architecture: 'resnet', stages: 4 }, [6, 6, 3])).hint).toMatch(
      /at most 3 stage\(s\) fit \(6 -> 3 -> 2\)/,
    );
  });

  it('rejects images too small for the reference CNN and datasets with a single class', async () => {
    expect((await configError({ architecture: 'cnn' }, [9, 9, 1])).message).toMatch(/at least 10x10.*9x9/);
    expect((await configError({ architecture: 'cnn' }, [28, 28, 1], 1)).message).toMatch(/at least 2/);
  });

  it('lists the layers of a pretrained model when cutAt names none of them', async () => {
    const error = await configError(
      { architecture: 'pretrained', uri: resnetUri, cutAt: 'conv9' },
      [8, 8, 3],
      2,
    );
    expect(error.message).toMatch(/has no layer 'conv9'/);
    expect(error.hint).toMatch(
      /^cut at one of its layers: stem_conv, stem_conv_bn, stem_relu, .*embedding, logits$/,
    );
    const input = await configError(
      { architecture: 'pretrained', uri: resnetUri, cutAt: 'input' },
      [8, 8, 3],
      2,
    );
    expect(input.message).toMatch(/is the input layer/);
  });

  it('checks a pretrained model against the data shape and the unfreeze depth', async () => {
    const shape = await configError({ architecture: 'pretrained', uri: resnetUri }, [28, 28, 1], 2);
    expect(shape.message).toMatch(
      /takes inputs of shape \[8, 8, 3\]; the dataset's images are \[28, 28, 1\]/,
    );
    const deep = await configError(
      {
        architecture: 'pretrained',
        uri: resnetUri,
        cutAt: 'stage1_block1_relu2',
        unfreeze: { topLayers: 9, afterEpochs: 1, learningRate: 1e-4 },
      },
      [8, 8, 3],
      2,
    );
    expect(deep.message).toMatch(/the body up to 'stage1_block1_relu2' has 6 layer\(s\) with weights/);
    await validateArchitecture(
      modelConfigSchema.parse({
        architecture: 'pretrained',
        uri: resnetUri,
        cutAt: 'stage1_block1_relu2',
        unfreeze: { topLayers: 6, afterEpochs: 1, learningRate: 1e-4 },
      }),
      [8, 8, 3],
      2,
      { storage },
    );
  });

  it('turns a missing, non-layers or unreachable-by-scheme pretrained model into config errors', async () => {
    expect((await configError({ architecture: 'pretrained', uri: join(dir, 'nope') })).message).toMatch(
      /nope\/model.json does not exist/,
    );
    const graph = join(dir, 'graph');
    const json = JSON.parse(await readFile(join(resnetUri, 'model.json'), 'utf8'));
    await writeFile(`${graph}.json`, JSON.stringify({ ...json, format: 'graph-model' }));
    expect((await configError({ architecture: 'pretrained', uri: `${graph}.json` })).message).toMatch(
      /GraphModel, not a LayersModel/,
    );
    expect((await configError({ architecture: 'pretrained', uri: 's3://bucket/model' })).message).toMatch(
      /unsupported scheme 's3:\/\/'/,
    );
  });

  it('needs a storage to check a pretrained model', async () => {
    await expect(
      validateArchitecture(
        modelConfigSchema.parse({ architecture: 'pretrained', uri: resnetUri }),
        [8, 8, 3],
        2,
      ),
    ).rejects.toThrow(/needs a PretrainedSource/);
  });
});

describe('modelConfigSchema', () => {
  it('defaults to the reference CNN and rejects keys of another architecture', () => {
    expect(modelConfigSchema.parse(undefined)).toEqual({ architecture: 'cnn', dropout: 0 });
    expect(modelConfigSchema.parse({ dropout: 0.25 })).toEqual({ architecture: 'cnn', dropout: 0.25 });
    expect(modelConfigSchema.safeParse({ architecture: 'vit', dropout: 0.1 }).error?.issues[0]?.code).toBe(
      'unrecognized_keys',
    );
    expect(modelConfigSchema.safeParse({ architecture: 'mlp' }).success).toBe(false);
    expect(modelConfigSchema.parse({ architecture: 'pretrained', uri: 'x' })).toEqual({
      architecture: 'pretrained',
      uri: 'x',
      cutAt: 'embedding',
      head: { pooling: 'avg', units: [128], dropout: 0 },
    });
  });

  it('has the defaults the factories use when called without a parsed config', () => {
    expect(modelConfigSchema.parse({ architecture: 'vit' })).toEqual({
      architecture: 'vit',
      ...VIT_DEFAULTS,
    });
    expect(modelConfigSchema.parse({ architecture: 'resnet' })).toEqual({
      architecture: 'resnet',
      ...RESNET_DEFAULTS,
    });
    expect(modelConfigSchema.parse({ architecture: 'pretrained', uri: 'x' })).toMatchObject({
      head: HEAD_DEFAULTS,
    });
  });

  it('documents every key of every architecture', () => {
    const json = JSON.stringify(modelConfigSchema.toJSONSchema?.() ?? {});
    const undocumented: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (typeof node !== 'object' || node === null) return;
      const record = node as Record<string, unknown>;
      const properties = record.properties as Record<string, Record<string, unknown>> | undefined;
      for (const [key, value] of Object.entries(properties ?? {})) {
        if (typeof value.description !== 'string' || value.description.length < 10)
          undocumented.push(`${path}.${key}`);
        walk(value, `${path}.${key}`);
      }
      for (const branch of (record.oneOf ?? record.anyOf ?? []) as unknown[]) walk(branch, path);
    };
    walk(JSON.parse(json), 'model');
    expect(json.length).toBeGreaterThan(100);
    expect(undocumented).toEqual([]);
  });
});
