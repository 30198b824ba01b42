/** Test support: the convolution shapes the kernel suite checks every formulation on (kernel-suite.test-support.ts). */

export type Shape4 = [number, number, number, number];
export type Pad = 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];
export interface ConvCase {
  x: Shape4;
  f: Shape4;
  stride: number;
  pad: Pad;
  /** Whether dx can be the flipped convolution (stride 1, pads within the filter's reach). */
  inputConvolution: boolean;
}
const explicit = (top: number, bottom: number, left: number, right: number): Pad => [
  [0, 0],
  [top, bottom],
  [left, right],
  [0, 0],
];

export const CONV_CASES: ConvCase[] = [
  { x: [2, 9, 9, 3], f: [3, 3, 3, 4], stride: 1, pad: 'valid', inputConvolution: true },
  { x: [2, 9, 9, 3], f: [3, 3, 3, 4], stride: 1, pad: 'same', inputConvolution: true },
  { x: [3, 10, 8, 2], f: [3, 3, 2, 5], stride: 2, pad: 'same', inputConvolution: false },
  { x: [1, 11, 11, 4], f: [5, 3, 4, 2], stride: 2, pad: 'valid', inputConvolution: false },
  { x: [2, 8, 8, 3], f: [4, 4, 3, 6], stride: 4, pad: 'valid', inputConvolution: false },
  // The left pad (2) is past the 3x2 filter's reach (1): dx cannot be the flipped convolution.
  { x: [1, 7, 9, 2], f: [3, 2, 2, 3], stride: 1, pad: explicit(1, 2, 2, 0), inputConvolution: false },
  { x: [1, 6, 6, 1], f: [1, 1, 1, 8], stride: 1, pad: 'valid', inputConvolution: true },
  // The last input row and column are never read: the convolution form must crop them.
  { x: [2, 10, 10, 3], f: [3, 3, 3, 4], stride: 2, pad: 'valid', inputConvolution: false },
  // An even filter under 'same' pads one side more than the other.
  { x: [2, 7, 6, 5], f: [2, 3, 5, 3], stride: 1, pad: 'same', inputConvolution: true },
  // outChannels % 16 == 0: the patch-rows (SIMD GEMM) filter gradient applies.
  { x: [3, 12, 12, 1], f: [3, 3, 1, 32], stride: 1, pad: 'valid', inputConvolution: true },
  { x: [2, 9, 9, 3], f: [3, 3, 3, 16], stride: 2, pad: 'same', inputConvolution: false },
  { x: [2, 11, 7, 2], f: [3, 2, 2, 16], stride: 1, pad: explicit(1, 2, 0, 1), inputConvolution: true },
  { x: [1, 10, 10, 1], f: [5, 5, 1, 16], stride: 3, pad: 'same', inputConvolution: false },
  { x: [2, 8, 8, 3], f: [4, 4, 3, 32], stride: 4, pad: 'valid', inputConvolution: false },
];

/**
 * Long reductions through the patch-rows filter gradient (the SIMD GEMM sums over batch·outH·outW): the reference
 * CNN's first layer at batch 64 (43,264), odd image sizes, and each kind of padding.
 */
export const LONG_REDUCTIONS: Array<Omit<ConvCase, 'inputConvolution'>> = [
  { x: [64, 28, 28, 1], f: [3, 3, 1, 32], stride: 1, pad: 'valid' },
  { x: [49, 29, 29, 1], f: [3, 3, 1, 16], stride: 1, pad: 'same' },
  { x: [50, 57, 59, 2], f: [3, 3, 2, 16], stride: 2, pad: explicit(1, 0, 0, 1) },
];
