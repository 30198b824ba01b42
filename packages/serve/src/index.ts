// The inference service: a Fastify app that serves a verified model bundle (see app.ts; server.ts runs it).
export {
  createApp,
  fastifyOptions,
  type ServeAppOptions,
  type ServeDependencies,
  serveApp,
  startServing,
} from './app.ts';
export { defaultServeConfig, parseServeConfig, type ServeConfig, serveEnvSchema } from './config.ts';
export type { ServeContext } from './context.ts';
export { HttpError } from './errors.ts';
export { checkImageHeader } from './inference/image-check.ts';
export { MicroBatcher } from './inference/micro-batcher.ts';
export type {
  ImagePrediction,
  InputPrediction,
  PredictionEvent,
  PredictionResult,
  PredictionService,
} from './inference/prediction-service.ts';
export { normalizeInput, type PreparedImage, prepareImage } from './inference/prepare-input.ts';
export { type LoadServingModelOptions, loadServingModel } from './model/serving-model.ts';
export type { ModelInputSpec, ServingModel } from './model/types.ts';
