/** Per-channel normalisation in [0,1] pixel units: `x = (pixel / 255 - mean[c]) / std[c]`. */
interface Normalization {
  mean: readonly number[];
  std: readonly number[];
}

/**
 * A lookup table from uint8 pixel value to normalised float32, `channels * 256` entries (channel-major). A channel
 * whose std is (about) 0 is divided by 1, which just centres it. The training loader and the inference service
 * both normalise through this table, so a model sees the same numbers in both.
 */
export function normalizationTable(normalization: Normalization, channels: number): Float32Array {
  const { mean, std } = normalization;
  const table = new Float32Array(channels * 256);
  for (let c = 0; c < channels; c += 1) {
    const s = (std[c] ?? 1) > 1e-8 ? (std[c] as number) : 1;
    for (let v = 0; v < 256; v += 1) table[c * 256 + v] = (v / 255 - (mean[c] ?? 0)) / s;
  }
  return table;
}

/**
 * Normalises `count` interleaved (HWC) uint8 values from `pixels[from]` into `out[to]` through a table made by
 * {@link normalizationTable}.
 */
export function normalizePixels(
  pixels: Uint8Array,
  table: Float32Array,
  channels: number,
  out: Float32Array,
  { from = 0, to = 0, count = pixels.length - from }: { from?: number; to?: number; count?: number } = {},
): void {
  if (channels === 1) {
    for (let p = 0; p < count; p += 1) out[to + p] = table[pixels[from + p] as number] as number;
    return;
  }
  for (let p = 0; p < count; p += channels) {
    for (let c = 0; c < channels; c += 1) {
      out[to + p + c] = table[c * 256 + (pixels[from + p + c] as number)] as number;
    }
  }
}
