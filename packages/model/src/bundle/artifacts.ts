import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ModelLoadError } from '@tfmlops/core';
import { registerCustomLayers } from '../architectures/custom-layers.ts';
import type { Quantization } from './format.ts';

/** TF.js's own shard size (tfjs-converter writes 4 MiB shards), so browsers and CDNs cache them the usual way. */
export const SHARD_BYTES = 4 * 1024 * 1024;

type WeightSpec = tf.io.WeightsManifestEntry;

/** A model's topology and weights in memory, as `model.save` produces them (weights in one buffer). */
export interface ModelArtifacts {
  modelTopology: object;
  weightSpecs: WeightSpec[];
  weightData: ArrayBuffer;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
}

/** The model's artifacts, through TF.js's own serialisation (so custom layers' `getConfig` is honoured). */
export async function captureArtifacts(model: tfl.LayersModel): Promise<ModelArtifacts> {
  let captured: ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = {
        modelTopology: artifacts.modelTopology as object,
        weightSpecs: artifacts.weightSpecs ?? [],
        weightData: tf.io.concatenateArrayBuffers(
          artifacts.weightData === undefined ? [] : (artifacts.weightData as ArrayBuffer | ArrayBuffer[]),
        ),
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
      };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!captured) throw new ModelLoadError('MODEL_SAVE_FAILED', 'the model produced no artifacts when saved');
  return captured;
}

/** Builds a LayersModel from artifacts held in memory; the product's custom layers (ViT's) are registered first. */
export async function modelFromArtifacts(artifacts: ModelArtifacts): Promise<tfl.LayersModel> {
  registerCustomLayers();
  return tfl.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: artifacts.modelTopology,
      weightSpecs: artifacts.weightSpecs,
      weightData: artifacts.weightData,
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy,
    }),
  );
}

/**
 * Stores float32 weights as uint8 (per-tensor affine: `value = q * scale + min`) or float16, in the weights-manifest
 * form TF.js dequantizes on load (`quantization: { dtype, scale, min }`), as tfjs-converter's
 * `--quantize_uint8` / `--quantize_float16` do. Other dtypes are kept as they are.
 */
export function quantizeArtifacts(artifacts: ModelArtifacts, dtype: Quantization): ModelArtifacts {
  if (dtype === 'none') return artifacts;
  const specs: WeightSpec[] = [];
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const spec of artifacts.weightSpecs) {
    if (spec.quantization)
      throw new ModelLoadError('MODEL_ALREADY_QUANTIZED', `weight ${spec.name} is already quantized`);
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const bytes = size * 4;
    const raw = new Uint8Array(artifacts.weightData.slice(offset, offset + bytes));
    offset += bytes;
    if (spec.dtype !== 'float32') {
      specs.push(spec);
      parts.push(raw);
      continue;
    }
    const values = new Float32Array(raw.buffer, raw.byteOffset, size);
    if (dtype === 'float16') {
      specs.push({ ...spec, quantization: { dtype: 'float16' } });
      parts.push(new Uint8Array(float32ToFloat16(values).buffer));
    } else {
      const { codes, scale, min } = quantizeUint8(values);
      specs.push({ ...spec, quantization: { dtype: 'uint8', scale, min } });
      parts.push(codes);
    }
  }
  return { ...artifacts, weightSpecs: specs, weightData: concat(parts) };
}

/** Splits the weight buffer into TF.js-named shard files of at most `shardBytes`. */
export function shardWeights(
  weightData: ArrayBuffer,
  shardBytes = SHARD_BYTES,
): Array<{ path: string; data: Uint8Array }> {
  const count = Math.max(1, Math.ceil(weightData.byteLength / shardBytes));
  return Array.from({ length: count }, (_, i) => ({
    path: `group1-shard${i + 1}of${count}.bin`,
    data: new Uint8Array(
      weightData,
      i * shardBytes,
      Math.min(shardBytes, weightData.byteLength - i * shardBytes),
    ),
  }));
}

/** model.json in TF.js's layout: topology plus a weights manifest naming the shard files. */
export function modelJsonFor(artifacts: ModelArtifacts, shardPaths: string[]): object {
  return {
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: shardPaths, weights: artifacts.weightSpecs }],
  };
}

function quantizeUint8(values: Float32Array): { codes: Uint8Array; scale: number; min: number } {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const value of values) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    if (values.length === 0) return { codes: new Uint8Array(0), scale: 1, min: 0 };
    throw new ModelLoadError('MODEL_NOT_FINITE', 'cannot quantize weights that are NaN or infinite');
  }
  // A constant tensor quantizes to all-zero codes that decode back to `min` exactly.
  const scale = max > min ? (max - min) / 255 : 1;
  const codes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i += 1) codes[i] = Math.round(((values[i] as number) - min) / scale);
  return { codes, scale, min };
}

/** IEEE 754 binary32 -> binary16, round to nearest even; overflow becomes infinity, NaN stays NaN. */
export function float32ToFloat16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i += 1) {
    const x = bits[i] as number;
    const sign = (x >>> 16) & 0x8000;
    const exponent = (x >>> 23) & 0xff;
    let mantissa = x & 0x7fffff;
    if (exponent === 0xff) {
      out[i] = sign | 0x7c00 | (mantissa ? 0x200 : 0);
      continue;
    }
    const e = exponent - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
    } else if (e <= 0) {
      // Subnormal half (or zero): shift the mantissa with its implicit bit into place, rounding to nearest even.
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mantissa |= 0x800000;
      const shift = 14 - e;
      const half = 1 << (shift - 1);
      const rest = mantissa & ((1 << shift) - 1);
      let value = mantissa >>> shift;
      if (rest > half || (rest === half && value & 1)) value += 1;
      out[i] = sign | value;
    } else {
      let value = (e << 10) | (mantissa >>> 13);
      const rest = mantissa & 0x1fff;
      if (rest > 0x1000 || (rest === 0x1000 && value & 1)) value += 1; // may carry into the exponent: still right
      out[i] = sign | value;
    }
  }
  return out;
}

function concat(parts: Uint8Array[]): ArrayBuffer {
  const total = parts.reduce((sum, part) => sum + part.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out.buffer;
}
