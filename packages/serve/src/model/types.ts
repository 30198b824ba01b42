import type { PreprocessSpec } from '@tfmlops/data';
import type { BundleManifest, ReferenceStatistics } from '@tfmlops/model';

/** What turning an image into this model's input needs. */
export interface ModelInputSpec {
  /** [height, width, channels]. */
  inputShape: [number, number, number];
  preprocess: PreprocessSpec;
  /** The bundle's normalisation as the data package's lookup table (see normalizationTable). */
  normalizationTable: Float32Array;
}

/** A loaded, verified and warmed bundle that answers predictions. */
export interface ServingModel extends ModelInputSpec {
  name: string;
  version: string;
  /** SHA-256 of its bundle.json: equal values mean the same bundle. */
  sha256: string;
  /** The bundle directory it came from. */
  uri: string;
  labels: string[];
  manifest: BundleManifest;
  /** Reference statistics for drift monitoring. */
  reference: ReferenceStatistics;
  /** The TF.js backend it runs on. */
  backend: string;
  /** Seconds from the start of loading to the end of the warm-up. */
  loadSeconds: number;
  /**
   * Class probabilities (label order) for a batch of normalised HWC inputs, one Float32Array per input. All
   * tensors it makes are disposed before it resolves.
   */
  predictBatch(inputs: readonly Float32Array[]): Promise<Float32Array[]>;
  dispose(): void;
}
