/**
 * The Open Inference Protocol v2 (KServe / Triton "V2 inference protocol") REST payloads, as the specification
 * writes them (github.com/kserve/open-inference-protocol, specification/protocol/inference_rest.md). Tensor data is
 * checked by the route (oip-tensors.ts), not here, so a bad element is reported by its index, and so a 784-value
 * image is not walked twice.
 */
import { z } from 'zod';

/** `$parameter = $string : $string | $number | $boolean`. */
export const oipParametersSchema = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
  .meta({ id: 'OipParameters', description: 'Name/value pairs; values are strings, numbers or booleans' });

/** Row-major tensor contents, flat or nested (`[[1, 2], [4, 5]]` and `[1, 2, 4, 5]` are the same 2x2 tensor). */
const tensorDataSchema = z.array(z.unknown()).meta({
  description:
    "The tensor elements in row-major order, flat or nested as the shape. FP32: normalised inputs; UINT8: raw pixels 0-255 (the service normalises them with the bundle's statistics); BYTES: strings",
});

export const oipMetadataTensorSchema = z
  .object({
    name: z.string(),
    datatype: z.string(),
    shape: z.array(z.number().int()).meta({ description: 'Variable-size dimensions are -1' }),
  })
  .meta({ id: 'OipMetadataTensor' });

export const oipServerMetadataSchema = z
  .object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) })
  .meta({ id: 'OipServerMetadata' });

export const oipLiveSchema = z.object({ live: z.boolean() }).meta({ id: 'OipLive' });
export const oipReadySchema = z.object({ ready: z.boolean() }).meta({ id: 'OipReady' });
export const oipModelReadySchema = z
  .object({ name: z.string(), ready: z.boolean() })
  .meta({ id: 'OipModelReady' });

export const oipModelMetadataSchema = z
  .object({
    name: z.string(),
    versions: z.array(z.string()),
    platform: z.string(),
    inputs: z.array(oipMetadataTensorSchema),
    outputs: z.array(oipMetadataTensorSchema),
    parameters: oipParametersSchema,
  })
  .meta({ id: 'OipModelMetadata' });

export const oipRequestInputSchema = z
  .object({
    name: z.string(),
    shape: z.array(z.number().int().nonnegative()),
    datatype: z.string(),
    parameters: oipParametersSchema.optional(),
    data: tensorDataSchema,
  })
  .meta({ id: 'OipRequestInput' });

export const oipRequestOutputSchema = z
  .object({ name: z.string(), parameters: oipParametersSchema.optional() })
  .meta({ id: 'OipRequestOutput' });

export const oipInferenceRequestSchema = z
  .object({
    id: z.string().optional(),
    parameters: oipParametersSchema.optional(),
    inputs: z.array(oipRequestInputSchema),
    outputs: z.array(oipRequestOutputSchema).optional(),
  })
  .meta({ id: 'OipInferenceRequest' });

export const oipResponseOutputSchema = z
  .object({
    name: z.string(),
    shape: z.array(z.number().int()),
    datatype: z.string(),
    parameters: oipParametersSchema.optional(),
    data: z.array(z.union([z.number(), z.string()])),
  })
  .meta({ id: 'OipResponseOutput' });

export const oipInferenceResponseSchema = z
  .object({
    model_name: z.string(),
    model_version: z.string(),
    id: z.string().optional(),
    parameters: oipParametersSchema.optional(),
    outputs: z.array(oipResponseOutputSchema),
  })
  .meta({ id: 'OipInferenceResponse' });

/** `$inference_error_response = { "error": <error message string> }` (and the metadata error objects alike). */
export const oipErrorSchema = z.object({ error: z.string() }).meta({ id: 'OipError' });

export const oipModelParamsSchema = z.object({ name: z.string() });
export const oipVersionParamsSchema = z.object({ name: z.string(), version: z.string() });

export type OipInferenceRequest = z.output<typeof oipInferenceRequestSchema>;
export type OipRequestInput = z.output<typeof oipRequestInputSchema>;
export type OipRequestOutput = z.output<typeof oipRequestOutputSchema>;
export type OipResponseOutput = z.output<typeof oipResponseOutputSchema>;
