/**
 * The seed for one layer's initializers, derived from the experiment seed and the layer's name. Each layer gets
 * its own random stream (tfjs seeds an alea generator per initializer call), and naming rather than counting keeps
 * a layer's initial weights unchanged when another layer is added before it.
 */
export function layerSeed(seed: number, layerName: string): number {
  // FNV-1a over "seed/name", folded to a positive 31-bit integer (tfjs turns the seed into a string key).
  let hash = 0x811c9dc5;
  for (const char of `${seed}/${layerName}`) {
    hash ^= char.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) & 0x7fffffff;
}
