/** Precision, recall and F1 of one class (or an average over classes). */
export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
}

export interface PerClassScores extends ClassScores {
  /** The class name, as in the dataset's classNames. */
  class: string;
  /** Examples of this class in the evaluated split. */
  support: number;
}

/** One equal-width confidence bin of the reliability diagram. */
export interface ReliabilityBin {
  /** Bin edges: the bin holds confidences in (lower, upper] (the first bin also holds 0). */
  lower: number;
  upper: number;
  count: number;
  /** Mean confidence (max softmax probability) of the examples in the bin; null for an empty bin. */
  confidence: number | null;
  /** Fraction of the bin's examples predicted correctly; null for an empty bin. */
  accuracy: number | null;
}

export interface Calibration {
  /** How ECE is defined here, for readers of evaluation.json. */
  definition: string;
  bins: number;
  /** Expected calibration error, a fraction in [0, 1]. */
  ece: number;
  /** Maximum calibration error over non-empty bins, a fraction in [0, 1]. */
  mce: number;
  reliability: ReliabilityBin[];
}

/** A misclassified example, found by its position in the evaluated batch stream. */
export interface Misclassified {
  /** 0-based position of the example in the evaluated stream (the split's order when unshuffled). */
  index: number;
  label: number;
  labelName: string;
  predicted: number;
  predictedName: string;
  /** Softmax probability of the predicted class. */
  confidence: number;
  /** Softmax probability the model gave the true class. */
  trueClassProbability: number;
}

/** Everything `evaluateModel` measures; JSON-safe (it is evaluation.json). Accuracies are fractions in [0, 1]. */
export interface Evaluation {
  examples: number;
  classNames: string[];
  accuracy: number;
  /** Mean softmax cross-entropy of the logits against the true labels, in nats (no label smoothing). */
  loss: number;
  perClass: PerClassScores[];
  /** Unweighted mean over all classes (scikit-learn's `macro`; a class never predicted has precision 0). */
  macro: ClassScores;
  /** Mean over classes weighted by support (scikit-learn's `weighted`). */
  weighted: ClassScores;
  /** confusionMatrix[true][predicted]: counts of examples. */
  confusionMatrix: number[][];
  calibration: Calibration;
  /** The most confident wrong predictions, most confident first. */
  misclassified: Misclassified[];
}
