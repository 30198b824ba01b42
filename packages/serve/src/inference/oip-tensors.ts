/**
 * Open Inference Protocol tensors <-> the prediction path: request inputs checked and turned into network inputs,
 * and class probabilities turned into the requested outputs. Pure functions; every refusal is a 400 naming the
 * field, the value and what the model takes.
 */
import { badRequest } from '../errors.ts';
import type { ModelInputSpec } from '../model/types.ts';
import type { OipInferenceRequest, OipResponseOutput } from '../schemas/oip.ts';
import { normalizeInput } from './prepare-input.ts';

/** The model's one input, NHWC. */
export const OIP_INPUT_NAME = 'input';
/** Class probabilities, FP32 [batch, classes], in the order of the labels in the model metadata. */
export const OIP_PROBABILITIES = 'probabilities';
/** The top-k labels of each input, BYTES [batch, k], most probable first (k: output parameter `top_k`, default 1). */
export const OIP_LABELS = 'labels';
export const OIP_OUTPUT_NAMES = [OIP_PROBABILITIES, OIP_LABELS] as const;
/** What the input accepts: normalised floats, or raw pixels the service normalises with the bundle's statistics. */
export const OIP_INPUT_DATATYPES = ['FP32', 'UINT8'] as const;

/** The protocol's tensor data types (inference_rest.md, "Tensor Data Types"). */
const PROTOCOL_DATATYPES = new Set([
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
]);

/** The largest finite float32; a JSON number beyond it would become Infinity in the network. */
const FP32_MAX = 3.4028234663852886e38;

export interface DecodedInputs {
  /** One normalised HWC float32 network input per image. */
  inputs: Float32Array[];
  /** The raw pixels of each image when they came as UINT8 (for monitoring), else null. */
  pixels: Array<Uint8Array | null>;
}

export interface RequestedOutput {
  name: (typeof OIP_OUTPUT_NAMES)[number];
  /** probabilities only: Triton's classification extension, top-n as BYTES "<value>:<index>:<label>". */
  classification?: number;
  /** labels only: how many labels per input. */
  topK?: number;
}

/**
 * The request's one input as network inputs: name, datatype and shape `[batch, H, W, C]` checked against the model
 * (any batch size from 1 to `maxImages`), every element checked (finite FP32, or whole UINT8 0-255), flat or nested
 * data accepted.
 */
export function decodeInputs(
  request: OipInferenceRequest,
  model: ModelInputSpec & { name: string },
  maxImages: number,
): DecodedInputs {
  const [height, width, channels] = model.inputShape;
  const takes = `'${OIP_INPUT_NAME}' (FP32 or UINT8, shape [-1, ${height}, ${width}, ${channels}])`;
  if (request.inputs.length !== 1) {
    throw badRequest(
      'OIP_INPUT_COUNT',
      `the request has ${request.inputs.length} inputs; model ${model.name} takes exactly one, ${takes}`,
    );
  }
  const input = request.inputs[0]!;
  if (input.name !== OIP_INPUT_NAME) {
    throw badRequest(
      'OIP_UNKNOWN_INPUT',
      `unknown input '${input.name}'; model ${model.name} takes one input, ${takes}`,
    );
  }
  const { datatype, shape } = input;
  if (!PROTOCOL_DATATYPES.has(datatype)) {
    throw badRequest(
      'OIP_UNKNOWN_DATATYPE',
      `inputs[0].datatype '${datatype}' is not a datatype of the protocol (${[...PROTOCOL_DATATYPES].join(', ')})`,
    );
  }
  if (datatype !== 'FP32' && datatype !== 'UINT8') {
    throw badRequest(
      'OIP_UNSUPPORTED_DATATYPE',
      `inputs[0].datatype ${datatype} is not accepted: send FP32 (normalised with the mean/std in the model metadata) or UINT8 (raw pixels 0-255)`,
    );
  }
  if (shape.length !== 4) {
    throw badRequest(
      'OIP_SHAPE',
      `inputs[0].shape [${shape.join(', ')}] has ${shape.length} dimensions; the input is [batch, ${height}, ${width}, ${channels}] (NHWC)`,
    );
  }
  const [batch, h, w, c] = shape as [number, number, number, number];
  if (h !== height || w !== width || c !== channels) {
    throw badRequest(
      'OIP_SHAPE',
      `inputs[0].shape [${shape.join(', ')}]: each image must be ${height}x${width}x${channels} (height, width, channels), as GET /v2/models/${model.name} says`,
    );
  }
  if (batch < 1) {
    throw badRequest('OIP_SHAPE', `inputs[0].shape [${shape.join(', ')}] holds no image; send at least one`);
  }
  if (batch > maxImages) {
    throw badRequest(
      'OIP_TENSOR_TOO_LARGE',
      `inputs[0].shape [${shape.join(', ')}] asks for ${batch} images; one request may carry at most ${maxImages} (MAX_QUEUE); split it`,
    );
  }
  const imageSize = height * width * channels;
  const expected = batch * imageSize;
  const values = flatten(input.data, expected);
  if (values.length !== expected) {
    throw badRequest(
      'OIP_DATA_LENGTH',
      `inputs[0].data has ${values.length > expected && values !== input.data ? `more than ${expected}` : values.length} values; shape [${shape.join(', ')}] needs ${expected}`,
    );
  }
  const decoded: DecodedInputs = { inputs: [], pixels: [] };
  if (datatype === 'UINT8') {
    for (let b = 0; b < batch; b += 1) {
      const pixels = new Uint8Array(imageSize);
      for (let i = 0; i < imageSize; i += 1) {
        const value = values[b * imageSize + i];
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 255) {
          throw badElement(b * imageSize + i, value, 'UINT8 elements are whole numbers from 0 to 255');
        }
        pixels[i] = value;
      }
      decoded.inputs.push(normalizeInput(pixels, model));
      decoded.pixels.push(pixels);
    }
    return decoded;
  }
  for (let b = 0; b < batch; b += 1) {
    const tensor = new Float32Array(imageSize);
    for (let i = 0; i < imageSize; i += 1) {
      const value = values[b * imageSize + i];
      if (typeof value !== 'number' || !(Math.abs(value) <= FP32_MAX)) {
        throw badElement(
          b * imageSize + i,
          value,
          'FP32 elements must be finite numbers within the float32 range',
        );
      }
      tensor[i] = value;
    }
    decoded.inputs.push(tensor);
    decoded.pixels.push(null);
  }
  return decoded;
}

/**
 * The outputs to return: those the request names (each once), or all of them when it names none (as the protocol
 * says). Parameters: `classification` on probabilities (Triton's classification extension), `top_k` on labels
 * (default: the request's `top_k` parameter, else 1). Other parameters (e.g. `binary_data`) are ignored: outputs are
 * always JSON.
 */
export function requestedOutputs(request: OipInferenceRequest, classes: number): RequestedOutput[] {
  const defaultTopK = countParameter(request.parameters?.top_k, 'parameters.top_k', classes) ?? 1;
  const asked = request.outputs ?? [];
  if (asked.length === 0) {
    return [{ name: OIP_PROBABILITIES }, { name: OIP_LABELS, topK: defaultTopK }];
  }
  const seen = new Set<string>();
  return asked.map((output, i) => {
    if (!(OIP_OUTPUT_NAMES as readonly string[]).includes(output.name)) {
      throw badRequest(
        'OIP_UNKNOWN_OUTPUT',
        `unknown output '${output.name}'; this model's outputs are ${OIP_OUTPUT_NAMES.join(' and ')}`,
      );
    }
    if (seen.has(output.name)) {
      throw badRequest('OIP_DUPLICATE_OUTPUT', `output '${output.name}' is requested twice`);
    }
    seen.add(output.name);
    if (output.name === OIP_PROBABILITIES) {
      const classification = countParameter(
        output.parameters?.classification,
        `outputs[${i}].parameters.classification`,
        classes,
      );
      return classification === undefined
        ? { name: OIP_PROBABILITIES }
        : { name: OIP_PROBABILITIES, classification };
    }
    return {
      name: OIP_LABELS,
      topK:
        countParameter(output.parameters?.top_k, `outputs[${i}].parameters.top_k`, classes) ?? defaultTopK,
    };
  });
}

/** The most labels any requested output needs (what the prediction path's top-k must cover). */
export function topKNeeded(outputs: readonly RequestedOutput[]): number {
  return Math.max(1, ...outputs.map((output) => output.topK ?? output.classification ?? 1));
}

/** The response outputs for a batch of class probabilities. */
export function buildOutputs(
  outputs: readonly RequestedOutput[],
  probabilities: readonly Float32Array[],
  labels: readonly string[],
): OipResponseOutput[] {
  const batch = probabilities.length;
  const classes = labels.length;
  return outputs.map((output) => {
    if (output.name === OIP_PROBABILITIES && output.classification === undefined) {
      const data = new Array<number>(batch * classes);
      probabilities.forEach((row, b) => {
        for (let k = 0; k < classes; k += 1) data[b * classes + k] = row[k] as number;
      });
      return { name: OIP_PROBABILITIES, datatype: 'FP32', shape: [batch, classes], data };
    }
    const count = output.classification ?? output.topK ?? 1;
    const data = probabilities.flatMap((row) =>
      topIndices(row, count).map((k) =>
        output.name === OIP_LABELS ? (labels[k] ?? String(k)) : `${row[k]}:${k}:${labels[k] ?? k}`,
      ),
    );
    return { name: output.name, datatype: 'BYTES', shape: [batch, count], data };
  });
}

/** Indices of the `k` largest values, largest first (ties keep index order). */
function topIndices(values: Float32Array, k: number): number[] {
  const order = Array.from({ length: values.length }, (_, i) => i);
  order.sort((a, b) => (values[b] as number) - (values[a] as number) || a - b);
  return order.slice(0, k);
}

function countParameter(value: unknown, where: string, classes: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > classes) {
    throw badRequest(
      'OIP_PARAMETER',
      `${where} is ${JSON.stringify(value)}; it must be a whole number from 1 to ${classes} (the number of classes)`,
    );
  }
  return value;
}

/**
 * Row-major elements of flat or nested tensor data, stopping once past `limit` (so a wrong shape is reported without
 * copying more than needed). Nested arrays are read depth-first, which is row-major order.
 */
function flatten(data: readonly unknown[], limit: number): unknown[] {
  let flat = true;
  for (let i = 0; i < data.length; i += 1) {
    if (Array.isArray(data[i])) {
      flat = false;
      break;
    }
  }
  if (flat) return data as unknown[];
  const out: unknown[] = [];
  const stack: Array<{ items: readonly unknown[]; next: number }> = [{ items: data, next: 0 }];
  while (stack.length > 0 && out.length <= limit) {
    const top = stack[stack.length - 1]!;
    if (top.next >= top.items.length) {
      stack.pop();
      continue;
    }
    const item = top.items[top.next++];
    if (Array.isArray(item)) stack.push({ items: item, next: 0 });
    else out.push(item);
  }
  return out;
}

function badElement(index: number, value: unknown, rule: string) {
  // JSON has no Infinity: a number too large for a double (1e999) arrives as one, and JSON.stringify would say null.
  const shown =
    typeof value === 'number'
      ? String(value)
      : typeof value === 'string'
        ? JSON.stringify(value.slice(0, 40))
        : (JSON.stringify(value) ?? String(value));
  return badRequest('OIP_BAD_ELEMENT', `inputs[0].data[${index}] is ${shown}: ${rule}`);
}
