/**
 * Per-channel mean and standard deviation of uint8 images, in [0, 1] units. Sums are kept as exact integers in
 * doubles (exact up to 2^53, i.e. ~1.3e11 pixels per channel), so the result does not depend on accumulation order.
 */
export class ChannelStats {
  private readonly sums: number[];
  private readonly squares: number[];
  private pixelsPerChannel = 0;

  constructor(private readonly channels: number) {
    this.sums = new Array(channels).fill(0);
    this.squares = new Array(channels).fill(0);
  }

  /** Adds one or more HWC images. */
  add(pixels: Uint8Array): void {
    const { channels } = this;
    for (let c = 0; c < channels; c += 1) {
      let sum = 0;
      let square = 0;
      for (let i = c; i < pixels.length; i += channels) {
        const v = pixels[i] as number;
        sum += v;
        square += v * v;
      }
      this.sums[c] = (this.sums[c] as number) + sum;
      this.squares[c] = (this.squares[c] as number) + square;
    }
    this.pixelsPerChannel += pixels.length / channels;
  }

  result(): { mean: number[]; std: number[] } {
    const n = this.pixelsPerChannel;
    if (n === 0) return { mean: new Array(this.channels).fill(0), std: new Array(this.channels).fill(1) };
    const mean = this.sums.map((s) => s / n / 255);
    const std = this.squares.map((q, c) => {
      const m = (this.sums[c] as number) / n;
      return Math.sqrt(Math.max(0, q / n - m * m)) / 255;
    });
    // Rounded so tiny float noise never changes the manifest (and so the dataset version).
    const round = (x: number) => Math.round(x * 1e8) / 1e8;
    return { mean: mean.map(round), std: std.map(round) };
  }
}
