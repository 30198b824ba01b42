import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ServeContext } from '../context.ts';
import { predictionErrorResponses } from '../schemas/common.ts';
import { predictBatchResponseSchema, predictQuerySchema, predictResponseSchema } from '../schemas/predict.ts';
import { IMAGE_CONTENT_TYPES, readImages } from './read-images.ts';

const CONSUMES = ['multipart/form-data', ...IMAGE_CONTENT_TYPES.filter((type) => type !== 'image/jpg')];

/** POST /predict (one image) and POST /predict/batch (several), both through the shared prediction path. */
export const predictRoutes: FastifyPluginAsyncZod<ServeContext> = async (app, context) => {
  const { config, predictions } = context;

  app.post(
    '/predict',
    {
      bodyLimit: config.bodyLimitBytes,
      schema: {
        summary: 'Classify one image',
        description:
          'The image as multipart form field `file`, or as the raw body with Content-Type image/png, image/jpeg or image/webp. Answers the `top_k` most probable classes.',
        tags: ['prediction'],
        consumes: CONSUMES,
        querystring: predictQuerySchema,
        response: { 200: predictResponseSchema, ...predictionErrorResponses },
      },
    },
    async (request, reply) => {
      const [image] = await readImages(request, {
        fields: ['file'],
        maxFiles: 1,
        bodyLimitBytes: config.bodyLimitBytes,
      });
      const result = await predictions.classifyImages([{ bytes: image!.bytes }], request.query.top_k);
      return {
        model: { name: result.model.name, version: result.model.version },
        predictions: result.predictions[0]!.top,
        latency_ms: reply.elapsedTime,
      };
    },
  );

  app.post(
    '/predict/batch',
    {
      bodyLimit: config.bodyLimitBytes,
      schema: {
        summary: 'Classify several images in one request',
        description: `Up to ${config.maxBatch} images as multipart form fields \`file\` (repeated) or \`files\`. Answers in the order of the files; one bad image refuses the request, naming the file.`,
        tags: ['prediction'],
        consumes: ['multipart/form-data'],
        querystring: predictQuerySchema,
        response: { 200: predictBatchResponseSchema, ...predictionErrorResponses },
      },
    },
    async (request, reply) => {
      const images = await readImages(request, {
        fields: ['file', 'files'],
        maxFiles: config.maxBatch,
        bodyLimitBytes: config.bodyLimitBytes,
      });
      const result = await predictions.classifyImages(
        images.map((image, i) => ({
          bytes: image.bytes,
          label: `file ${i + 1} of ${images.length}${image.filename ? ` (${JSON.stringify(image.filename)})` : ''}`,
        })),
        request.query.top_k,
      );
      return {
        model: { name: result.model.name, version: result.model.version },
        results: result.predictions.map((prediction, i) => ({
          filename: images[i]!.filename,
          predictions: prediction.top,
        })),
        latency_ms: reply.elapsedTime,
      };
    },
  );
};
