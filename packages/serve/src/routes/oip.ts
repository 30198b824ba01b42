/**
 * Open Inference Protocol v2 (REST), as KServe and Triton serve it, on the same app and the same prediction path as
 * POST /predict (admission, micro-batcher, deadline, metrics, monitoring). Registered under the prefix /v2, with its
 * own error format: `{"error": "<message>"}`, 400 for a bad request, 404 for an unknown model or version.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServeContext } from '../context.ts';
import { unavailable } from '../errors.ts';
import {
  buildOutputs,
  decodeInputs,
  OIP_INPUT_DATATYPES,
  OIP_INPUT_NAME,
  OIP_LABELS,
  OIP_PROBABILITIES,
  requestedOutputs,
  topKNeeded,
} from '../inference/oip-tensors.ts';
import { modelMismatch } from '../inference/prediction-service.ts';
import type { ServingModel } from '../model/types.ts';
import { describeError, logFailure } from '../plugins/error-handler.ts';
import {
  type OipInferenceRequest,
  oipErrorSchema,
  oipInferenceRequestSchema,
  oipInferenceResponseSchema,
  oipLiveSchema,
  oipModelMetadataSchema,
  oipModelParamsSchema,
  oipModelReadySchema,
  oipReadySchema,
  oipServerMetadataSchema,
  oipVersionParamsSchema,
} from '../schemas/oip.ts';

export interface OipRouteOptions extends ServeContext {
  /** The server version GET /v2 reports. */
  serverVersion: string;
}

const SERVER_NAME = 'tfjs-mlops';
/** Protocol extensions implemented (GET /v2 lists them): Triton's classification extension. */
const EXTENSIONS = ['classification'];
/** `platform` in model metadata: the framework and model format. */
const PLATFORM = 'tensorflowjs_layers';
const TAGS = ['open inference protocol'];

const errors = {
  400: oipErrorSchema,
  404: oipErrorSchema,
  413: oipErrorSchema,
  415: oipErrorSchema,
  503: oipErrorSchema,
};

export const oipRoutes: FastifyPluginAsyncZod<OipRouteOptions> = async (app, context) => {
  const { config, models, predictions, metrics, serverVersion } = context;

  // Errors of these routes in the protocol's format; the status and message are the service's usual ones.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, body, retryAfter } = describeError(error, request, config.bodyLimitBytes);
    logFailure(error, request, status, body);
    if (request.routeOptions.url?.endsWith('/infer')) metrics.rejected.inc({ code: body.error.code });
    const message =
      body.error.code === 'UNSUPPORTED_MEDIA_TYPE'
        ? `the request has ${contentType(request)}; send the inference request as JSON (Content-Type: application/json)`
        : body.error.hint && status < 500
          ? `${body.error.message} (${body.error.hint})`
          : body.error.message;
    sendError(reply, status, message, retryAfter);
  });
  app.setNotFoundHandler((request, reply) => {
    sendError(
      reply,
      404,
      `no route ${request.method} ${request.url.split('?')[0]}; see GET /docs for the Open Inference Protocol routes`,
    );
  });

  /** The model being served, if it is the one named; 404 otherwise, 503 while none is loaded. */
  const named = (name: string, version?: string): ServingModel => {
    const model = models.current;
    if (!model)
      throw unavailable(
        'MODEL_NOT_READY',
        'no model is loaded yet',
        2,
        'retry once GET /v2/health/ready answers 200',
      );
    const mismatch = modelMismatch(model, { name, version });
    if (mismatch) throw mismatch;
    return model;
  };

  // Only JSON bodies here (the app also parses images, multipart and text for its other routes).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit: config.bodyLimitBytes },
    app.getDefaultJsonParser('error', 'error'),
  );

  app.get(
    '/',
    {
      schema: {
        summary: 'Server metadata',
        tags: TAGS,
        response: { 200: oipServerMetadataSchema },
      },
    },
    async () => ({ name: SERVER_NAME, version: serverVersion, extensions: EXTENSIONS }),
  );

  app.get(
    '/health/live',
    {
      schema: {
        summary: 'Server live: the process answers',
        tags: TAGS,
        response: { 200: oipLiveSchema },
      },
    },
    async () => ({ live: true }),
  );

  app.get(
    '/health/ready',
    {
      schema: {
        summary: 'Server ready: the model is loaded and warm (400 while loading or draining)',
        tags: TAGS,
        response: { 200: oipReadySchema, 400: oipReadySchema },
      },
    },
    async (_request, reply) => {
      const ready = models.state === 'ready' && models.current !== undefined;
      reply.code(ready ? 200 : 400);
      return { ready };
    },
  );

  for (const versioned of [false, true]) {
    const base = versioned ? '/models/:name/versions/:version' : '/models/:name';
    const params = versioned ? oipVersionParamsSchema : oipModelParamsSchema;
    const version = (request: FastifyRequest) => (request.params as { version?: string }).version;

    app.get(
      `${base}/ready`,
      {
        schema: {
          summary: `Model ready${versioned ? ' (this version)' : ''} (400 while loading)`,
          tags: TAGS,
          params,
          response: { 200: oipModelReadySchema, 400: oipModelReadySchema, 404: oipErrorSchema },
        },
      },
      async (request, reply) => {
        const { name } = request.params as { name: string };
        const model = models.current;
        if (!model || models.state !== 'ready') {
          reply.code(400);
          return { name, ready: false };
        }
        named(name, version(request));
        return { name, ready: true };
      },
    );

    app.get(
      base,
      {
        schema: {
          summary: `Model metadata${versioned ? ' (this version)' : ''}: input and outputs, labels in parameters`,
          tags: TAGS,
          params,
          response: { 200: oipModelMetadataSchema, ...errors },
        },
      },
      async (request) => {
        const model = named((request.params as { name: string }).name, version(request));
        return modelMetadata(model);
      },
    );

    app.post(
      `${base}/infer`,
      {
        bodyLimit: config.bodyLimitBytes,
        schema: {
          summary: `Inference${versioned ? ' (this version)' : ''}`,
          description: `One input, '${OIP_INPUT_NAME}', NHWC [batch, height, width, channels], any batch size: FP32 (normalised with the mean/std in the model metadata) or UINT8 (raw pixels 0-255, normalised by the service as in training). Outputs: '${OIP_PROBABILITIES}' FP32 [batch, classes] in the order of the labels in the model metadata (with parameters.classification: n, Triton's classification extension: BYTES "<probability>:<index>:<label>") and '${OIP_LABELS}' BYTES [batch, k], the top-k labels (parameters.top_k, default 1). No outputs named: both. The request's id is echoed.`,
          tags: TAGS,
          params,
          body: oipInferenceRequestSchema,
          response: { 200: oipInferenceResponseSchema, ...errors },
        },
      },
      async (request) => {
        const body = request.body as OipInferenceRequest;
        const { name } = request.params as { name: string };
        const model = named(name, version(request));
        const outputs = requestedOutputs(body, model.labels.length);
        const { inputs, pixels } = decodeInputs(body, model, config.maxQueue);
        const result = await predictions.classifyInputs(inputs, topKNeeded(outputs), {
          pixels,
          requestId: request.id,
          api: 'oip',
          expect: { name, version: version(request) },
        });
        return {
          model_name: result.model.name,
          model_version: result.model.version,
          ...(body.id === undefined ? {} : { id: body.id }),
          outputs: buildOutputs(
            outputs,
            result.predictions.map((prediction) => prediction.probabilities),
            result.model.labels,
          ),
        };
      },
    );
  }
};

/**
 * `$metadata_model_response`. Parameter values may only be strings, numbers or booleans, so the label list and the
 * normalisation travel as JSON text.
 */
function modelMetadata(model: ServingModel) {
  const [height, width, channels] = model.inputShape;
  const { normalization } = model.manifest;
  return {
    name: model.name,
    versions: [model.version],
    platform: PLATFORM,
    inputs: [{ name: OIP_INPUT_NAME, datatype: 'FP32', shape: [-1, height, width, channels] }],
    outputs: [
      { name: OIP_PROBABILITIES, datatype: 'FP32', shape: [-1, model.labels.length] },
      { name: OIP_LABELS, datatype: 'BYTES', shape: [-1, -1] },
    ],
    parameters: {
      labels: JSON.stringify(model.labels),
      classes: model.labels.length,
      input_layout: 'NHWC',
      input_datatypes: OIP_INPUT_DATATYPES.join(','),
      normalization_mean: JSON.stringify(normalization.mean),
      normalization_std: JSON.stringify(normalization.std),
      created_at: model.manifest.createdAt,
    },
  };
}

function contentType(request: FastifyRequest): string {
  const type = request.headers['content-type']?.split(';')[0];
  return type ? `Content-Type ${type}` : 'no Content-Type header';
}

function sendError(reply: FastifyReply, status: number, message: string, retryAfter?: number): void {
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  reply
    .code(status)
    .type('application/json; charset=utf-8')
    .serializer(JSON.stringify)
    .send({ error: message });
}
