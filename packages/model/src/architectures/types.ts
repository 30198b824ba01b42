/** [height, width, channels] of one input image (NHWC without the batch axis). */
export type InputShape = [number, number, number];

/** What every architecture factory takes, besides its own options. */
export interface ArchitectureOptions {
  inputShape: InputShape;
  numClasses: number;
  /** Seeds every initializer (and dropout): the same seed gives bit-identical initial weights. */
  seed: number;
}
