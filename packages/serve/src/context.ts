import type { ServeConfig } from './config.ts';
import type { PredictionService } from './inference/prediction-service.ts';
import type { ModelManager } from './model/model-manager.ts';
import type { ServeMetrics } from './monitoring/metrics.ts';

/** What route plugins share: the config, the prediction path, the model manager and the metrics. */
export interface ServeContext {
  config: ServeConfig;
  predictions: PredictionService;
  models: ModelManager;
  metrics: ServeMetrics;
}
