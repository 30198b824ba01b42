export { confusionMatrixSpec, curvesSpec, reliabilitySpec } from './charts.ts';
export { datasetImages, type ExampleImage, type ImageLookup, type ShardedImages } from './dataset-images.ts';
export {
  DEFAULT_CALIBRATION_BINS,
  DEFAULT_WORST,
  type EvaluateOptions,
  evaluateModel,
} from './evaluate.ts';
export {
  type EvaluateDatasetOptions,
  type EvaluationDataset,
  evaluateDataset,
  evaluationSummary,
} from './evaluate-dataset.ts';
export { ECE_DEFINITION } from './metrics.ts';
export {
  EVALUATION_FILES,
  type EvaluationReportOptions,
  renderMisclassified,
  writeCurves,
  writeEvaluationReport,
} from './report.ts';
export type {
  Calibration,
  ClassScores,
  Evaluation,
  Misclassified,
  PerClassScores,
  ReliabilityBin,
} from './types.ts';
