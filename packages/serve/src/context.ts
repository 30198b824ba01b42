import type { ServeConfig } from './config.ts';
import type { PredictionService } from './inference/prediction-service.ts';
import type { ModelManager, ReloadOutcome } from './model/model-manager.ts';
import type { DriftService } from './monitoring/drift-service.ts';
import type { ServeMetrics } from './monitoring/metrics.ts';
import type { TrafficRecorder } from './monitoring/traffic-recorder.ts';
import type { PredictionLogger } from './prediction-log/prediction-logger.ts';

/** What route plugins share: the config, the prediction path, the model manager, the metrics and monitoring. */
export interface ServeContext {
  config: ServeConfig;
  predictions: PredictionService;
  models: ModelManager;
  metrics: ServeMetrics;
  /** Drift monitoring (its `enabled` says whether DRIFT_MONITOR is on). */
  drift: DriftService;
  /** Prediction logging; undefined when PREDICTION_LOG_URI is unset. */
  predictionLog: PredictionLogger | undefined;
  /** The observer feeding drift monitoring and the prediction log; undefined when both are off. */
  recorder: TrafficRecorder | undefined;
  /** Called after a successful POST /admin/reload (server.ts passes it on to the other cluster workers). */
  onAdminReload: ((outcome: ReloadOutcome) => void) | undefined;
}
